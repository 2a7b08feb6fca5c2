/**
 * The runner's settings of one run, from their layers: schema defaults < nsqworker.config.ts <
 * NSQWORKER_* < flags. Shared by a worker run, `--help` and `dev`, so each names a bad value's
 * source the same way.
 */
import { displayPath, type NsqworkerConfig } from './config-file.ts';
import { layerValues, parseLayered, type LayeredValues } from './layered-values.ts';
import { fieldsOf, type FieldSpec } from './schema-flags.ts';
import { FLAG_NAMES, RunSettingsSchema, type RunSettings } from './settings.ts';

export const RUN_FIELDS: FieldSpec[] = fieldsOf(RunSettingsSchema, FLAG_NAMES);

/** Flags the runner knows before it knows the worker (its own, --config, --help, --version: no worker option may take them). */
export const RUNNER_FLAGS: readonly string[] = [...RUN_FIELDS.map((field) => field.flag), 'config', 'help', 'version'];

/** What to say of the first worker option whose flag is the runner's (a run refuses it), or undefined. */
export function runnerFlagClash(workerFields: readonly FieldSpec[]): string | undefined {
  const field = workerFields.find((each) => RUNNER_FLAGS.includes(each.flag));
  return field === undefined ? undefined : `option ${field.key} clashes with the runner's flag --${field.flag}; rename it`;
}

export function runnerLayers(
  config: NsqworkerConfig,
  configPath: string | undefined,
  env: Record<string, string | undefined>,
  flags: Record<string, unknown>,
  fixed: Record<string, unknown> = {},
): LayeredValues {
  // Per-worker option values are the worker's business (worker-options.ts); the rest are runner settings.
  const { workers: _workers, ...configSettings } = config;
  return layerValues(RUN_FIELDS, {
    config: { file: configPath === undefined ? 'config' : displayPath(configPath), values: configSettings, keyPath: (key) => key },
    env,
    flags,
    fixed,
  });
}

export function parseRunnerSettings(layered: LayeredValues): RunSettings {
  return parseLayered(RunSettingsSchema, RUN_FIELDS, layered, 'runner settings');
}

/**
 * A worker's option values, merged and checked the same way at the start of a run and at every
 * reload: schema defaults < its section of nsqworker.config.ts < NSQWORKER_* < flags.
 */
import type { z } from 'zod';
import { displayPath, type NsqworkerConfig } from './config-file.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { fieldsOf, type FieldSpec } from './schema-flags.ts';
import { didYouMean } from '../../protocol/suggest.ts';
import { givenValueProblems, layerValues, layerValuesNamingProblems, parseLayered, type LayeredValues } from './layered-values.ts';
import type { WorkerRuntime } from '../worker/worker-runtime.ts';

/**
 * The worker's section of the config file may only name its options: the options schema is a
 * plain (stripping) z.object, so a typo such as `slowTreshold` would otherwise do nothing, silently.
 */
function unknownKeysMessage(unknown: readonly string[], known: ReadonlySet<string>, name: string, configPath: string | undefined): string {
  const options = known.size === 0 ? 'it declares no options' : `its options are ${[...known].join(', ')}`;
  const file = configPath === undefined ? 'config' : displayPath(configPath);
  // load-failure.ts reads the names back from "unknown option a, b (" to find the config file's line.
  const hint = unknown.length === 1 ? didYouMean(unknown[0]!, [...known]) : '';
  return `${file}: workers['${name}']: unknown option ${unknown.join(', ')} (${options})${hint}`;
}

type WorkerOptionLayers = { fields: FieldSpec[]; layered: LayeredValues };

/**
 * The layers of a worker's options, each value with its source; conversion errors name the source.
 * Throws RunnerError ConfigInvalid for a key of the worker's config section it has no option for,
 * or for a value that does not convert (Usage when given by a flag or variable).
 */
export function workerOptionLayers(
  runtime: WorkerRuntime,
  config: NsqworkerConfig,
  configPath: string | undefined,
  workerKey: string,
  env: Record<string, string | undefined>,
  flags: Record<string, unknown>,
): WorkerOptionLayers {
  return withUnknownKeysNamed(runtime, config, configPath, workerKey, (fields, configured) => ({
    fields,
    layered: layerValues(fields, layersInput(configured, configPath, workerKey, env, flags)),
  }));
}

/** A worker's layers as layerValues takes them: its config section (keys named by their path), the environment, the flags. */
function layersInput(configured: Record<string, unknown>, configPath: string | undefined, workerKey: string, env: Record<string, string | undefined>, flags: Record<string, unknown>) {
  return {
    config: { file: configPath === undefined ? 'config' : displayPath(configPath), values: configured, keyPath: (key: string) => `workers['${workerKey}'].${key}` },
    env,
    flags,
  };
}

/**
 * The worker's config section (`workers['<topic>/<channel>']`) without the keys it has no option
 * for, and the error naming those; `unknown` undefined when there are none.
 */
export function knownConfigKeys(
  fields: readonly FieldSpec[],
  config: NsqworkerConfig,
  configPath: string | undefined,
  workerKey: string,
): { known: Record<string, unknown>; unknown: string | undefined } {
  const configured = config.workers?.[workerKey] ?? {};
  const keys = new Set(fields.map((field) => field.key));
  const unknown = Object.keys(configured).filter((key) => !keys.has(key));
  if (unknown.length === 0) return { known: configured, unknown: undefined };
  return { known: Object.fromEntries(Object.entries(configured).filter(([key]) => keys.has(key))), unknown: unknownKeysMessage(unknown, keys, workerKey, configPath) };
}

/**
 * `use` given the worker's fields and its config section without the keys it has no option for; a
 * key so dropped is an error, named with what `use` throws (a value refused), not in a run of its own.
 */
function withUnknownKeysNamed<T>(
  runtime: WorkerRuntime,
  config: NsqworkerConfig,
  configPath: string | undefined,
  workerKey: string,
  use: (fields: FieldSpec[], configured: Record<string, unknown>) => T,
): T {
  const fields = runtime.optionsSchema === undefined ? [] : fieldsOf(runtime.optionsSchema);
  const { known, unknown } = knownConfigKeys(fields, config, configPath, workerKey);
  if (unknown === undefined) return use(fields, known);
  let refused = '';
  try {
    use(fields, known);
  } catch (error) {
    if (!(error instanceof RunnerError)) throw error;
    refused = `; ${error.message}`;
  }
  throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${unknown}${refused}`);
}

/**
 * A worker's options: its schema's defaults < its section of the config file < NSQWORKER_* < flags.
 * Shared by the start of a run and by every reload, so both judge a value the same way.
 */
export function workerOptions(
  runtime: WorkerRuntime,
  config: NsqworkerConfig,
  workerKey: string,
  env: Record<string, string | undefined>,
  flags: Record<string, unknown>,
  configPath?: string,
): Record<string, unknown> {
  const what = `options of worker ${workerKey}`;
  return withUnknownKeysNamed(runtime, config, configPath, workerKey, (fields, configured) => {
    const { layered, problems, inConfig } = layerValuesNamingProblems(fields, layersInput(configured, configPath, workerKey, env, flags));
    const schema = runtime.optionsSchema as z.ZodObject | undefined;
    if (problems.length === 0) return schema === undefined ? {} : (parseLayered(schema, fields, layered, what) as Record<string, unknown>);
    // A value that does not convert, and what the schema refuses among the others: one line, not a run each.
    const beside = schema === undefined ? [] : givenValueProblems(schema, fields, layered, what);
    throw new RunnerError(inConfig ? RunnerErrorCode.ConfigInvalid : RunnerErrorCode.Usage, [...problems, ...beside].join('; '));
  });
}

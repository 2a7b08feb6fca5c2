/**
 * `nsqworker.config.ts`: the project's settings and per-worker option values, validated by zod.
 * Unknown keys are errors, so a typo never silently does nothing.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { RunnerSettingsShape } from './settings.ts';
import { defaultExportOf } from '../worker/module-exports.ts';
import { importUserModule } from '../worker/user-code.ts';

export const ConfigSchema = z
  .object({
    ...Object.fromEntries(Object.entries(RunnerSettingsShape).map(([key, schema]) => [key, schema.optional()])),
    /** Option values per worker, keyed `<topic>/<channel>`. */
    workers: z.record(z.string().regex(/^[^/]+\/[^/]+$/, 'keys are <topic>/<channel>'), z.record(z.string(), z.unknown())).optional(),
  })
  .strict();

type SettingsInput = { [K in keyof typeof RunnerSettingsShape]?: z.input<(typeof RunnerSettingsShape)[K]> };

export interface NsqworkerConfig extends SettingsInput {
  workers?: Record<string, Record<string, unknown>>;
}

/** Declares the project's config with types; the value is checked when the runner loads it. */
export function defineConfig(config: NsqworkerConfig): NsqworkerConfig {
  return config;
}

export const DEFAULT_CONFIG_FILE = 'nsqworker.config.ts';

/**
 * Loads and validates the config file. An explicitly named file must exist; the default one is
 * optional.
 */
export async function loadConfig(path: string | undefined, cwd = process.cwd()): Promise<{ path: string | undefined; config: NsqworkerConfig }> {
  const file = resolve(cwd, path ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(file)) {
    if (path !== undefined) throw new RunnerError(RunnerErrorCode.ConfigInvalid, `config file ${file} does not exist`);
    return { path: undefined, config: {} };
  }
  let loaded: Record<string, unknown>;
  try {
    loaded = (await importUserModule(file)).exports;
  } catch (error) {
    throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${file}: failed to load: ${(error as Error).message}`, { cause: error });
  }
  return { path: file, config: validateConfig(defaultExportOf(loaded), file) };
}

/** Checks a config module's default export against the schema; unknown keys are errors. */
export function validateConfig(value: unknown, file: string): NsqworkerConfig {
  const result = ConfigSchema.safeParse(value ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${file}: invalid config:\n  ${problems.join('\n  ')}`, { cause: result.error });
  }
  return result.data as NsqworkerConfig;
}

/**
 * A worker's option values, merged and checked the same way at the start of a run and at every
 * reload: schema defaults < its section of nsqworker.config.ts < NSQWORKER_* < flags.
 */
import type { z } from 'zod';
import type { NsqworkerConfig } from './config-file.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { fieldsOf, parseWithFields, valuesFromEnv, valuesFromFlags, type FieldSpec } from './schema-flags.ts';
import type { WorkerRuntime } from '../worker/worker-runtime.ts';

/**
 * The worker's section of the config file may only name its options: the options schema is a
 * plain (stripping) z.object, so a typo such as `slowTreshold` would otherwise do nothing, silently.
 */
function checkWorkerConfigKeys(values: Record<string, unknown>, fields: readonly FieldSpec[], name: string): void {
  const known = new Set(fields.map((field) => field.key));
  const unknown = Object.keys(values).filter((key) => !known.has(key));
  if (unknown.length === 0) return;
  const options = known.size === 0 ? 'it declares no options' : `its options are ${[...known].join(', ')}`;
  throw new RunnerError(RunnerErrorCode.ConfigInvalid, `config workers['${name}']: unknown option ${unknown.join(', ')}; ${options}`);
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
): Record<string, unknown> {
  const fields = runtime.optionsSchema === undefined ? [] : fieldsOf(runtime.optionsSchema);
  const configured = config.workers?.[workerKey] ?? {};
  checkWorkerConfigKeys(configured, fields, workerKey);
  if (runtime.optionsSchema === undefined) return {};
  return parseWithFields(
    runtime.optionsSchema as z.ZodObject,
    fields,
    { ...configured, ...valuesFromEnv(fields, env), ...valuesFromFlags(fields, flags) },
    `options of worker ${workerKey}`,
  ) as Record<string, unknown>;
}

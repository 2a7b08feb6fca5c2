/**
 * `nsqworker.config.ts`: the project's settings and per-worker option values, validated by zod.
 * Unknown keys are errors, so a typo never silently does nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import { MissingUnitError, parseGoDurationMs } from '../../protocol/duration.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { RunnerSettingsShape } from './settings.ts';
import { describeExpected, durationWithUnit, keyPath, schemaAt, whatWouldBeGood, type IssueLike, type SchemaLike } from './expectation.ts';
import { didYouMean } from '../../protocol/suggest.ts';
import { isSecretOption, shownSafely } from './shown-values.ts';
import { defaultExportOf, describeExports, lacksDefaultExport } from '../worker/module-exports.ts';
import { scanCode } from '../worker/source-code.ts';
import { importUserModule } from '../worker/user-code.ts';
import { formatLocation, locateLoadFailure } from '../worker/load-failure.ts';

/**
 * A duration key (`requeueDelayMs`) takes a number of milliseconds, as its name says, or a string in
 * the form flags and NSQWORKER_* take (`2s`, `500ms`), unit included: `'90'` is refused as `--requeue-delay 90` is.
 */
function durationKey(schema: z.ZodType): z.ZodType {
  const converted = z.unknown().transform((value, context) => {
    if (typeof value !== 'string') return value;
    try {
      return parseGoDurationMs(value);
    } catch (error) {
      const expected = error instanceof MissingUnitError ? durationWithUnit(value.trim(), 'config') : describeExpected(schema as unknown as SchemaLike, 'config');
      context.addIssue({ code: 'custom', message: `expected ${expected}` });
      return z.NEVER;
    }
  });
  return converted.pipe(schema);
}

export const ConfigSchema = z
  .object({
    ...Object.fromEntries(
      Object.entries(RunnerSettingsShape).map(([key, schema]) => [key, (key.endsWith('Ms') ? durationKey(schema) : schema).optional()]),
    ),
    /** Option values per worker, keyed `<topic>/<channel>`. */
    workers: z.record(z.string().regex(/^[^/]+\/[^/]+$/, "expected a key '<topic>/<channel>' (e.g. 'log/pageview')"), z.record(z.string(), z.unknown())).optional(),
  })
  .strict();

type SettingsInput = {
  [K in keyof typeof RunnerSettingsShape]?: K extends `${string}Ms` ? number | string : z.input<(typeof RunnerSettingsShape)[K]>;
};

export interface NsqworkerConfig extends SettingsInput {
  workers?: Record<string, Record<string, unknown>>;
}

/** Declares the project's config with types; the value is checked when the runner loads it. */
export function defineConfig(config: NsqworkerConfig): NsqworkerConfig {
  return config;
}

/** The names a project's config file may have, in the order they are looked for when --config names none. */
export const CONFIG_FILE_NAMES = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'].map((extension) => `nsqworker.config.${extension}`);
/** The name a config file is expected under (and watched for, under --watch and dev, before it exists). */
export const DEFAULT_CONFIG_FILE = CONFIG_FILE_NAMES[0]!;

/** The project's config file in `cwd` by its conventional name; undefined when there is none. */
function conventionalConfigFile(cwd: string): string | undefined {
  const found = CONFIG_FILE_NAMES.filter((name) => existsSync(resolve(cwd, name)));
  if (found.length > 1) throw new RunnerError(RunnerErrorCode.ConfigInvalid, `config files ${found.join(' and ')} both in ${cwd}: keep one, or name the one to use with --config`);
  return found[0] === undefined ? undefined : resolve(cwd, found[0]);
}

/** A path as a message shows it: relative to the working folder when inside it. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/**
 * Loads and validates the config file: `path`, which must exist, or else nsqworker.config.ts (or
 * .mts, .cts, .js, .mjs, .cjs) in `cwd`, if there is one. Throws RunnerError E_CONFIG_INVALID for a
 * file that is missing, does not load, exports no config as its default, or holds a bad value, and
 * for two files by the conventional name.
 */
export async function loadConfig(path: string | undefined, cwd = process.cwd()): Promise<{ path: string | undefined; config: NsqworkerConfig }> {
  const file = path === undefined ? conventionalConfigFile(cwd) : resolve(cwd, path);
  if (file === undefined) return { path: undefined, config: {} };
  if (!existsSync(file)) throw new RunnerError(RunnerErrorCode.ConfigInvalid, `config file ${file} does not exist`);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await importUserModule(file)).exports;
  } catch (error) {
    // As for a worker file: file:line:column and the reason on one line (esbuild's message has two).
    const location = locateLoadFailure(error, { workerFile: file, configPath: file });
    throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${formatLocation(location)}: failed to load: ${location.reason}`, { cause: error });
  }
  const value = defaultExportOf(loaded);
  if (lacksDefaultExport(loaded) || (isEmptyObject(value) && callsButExportsNot(file))) {
    const written = file.endsWith('.cjs') ? 'module.exports = defineConfig({ ... })' : 'export default defineConfig({ ... })';
    throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${displayPath(file)}: expected the config as its default export (${written}); found ${isEmptyObject(value) ? 'nothing exported' : describeExports(loaded)}`);
  }
  return { path: file, config: await validateConfig(value, file) };
}

const isEmptyObject = (value: unknown): boolean => typeof value === 'object' && value !== null && Object.keys(value).length === 0;

/**
 * Whether `file`'s code calls defineConfig(...) and exports nothing: compiled to CommonJS, such a
 * file gives an empty object, as `export default {}` does, and its values would apply to nothing.
 */
function callsButExportsNot(file: string): boolean {
  const { code } = scanCode(readFileSync(file, 'utf8'));
  return /\bdefineConfig\s*\(/.test(code) && !/\bexport\s+default\b|\bmodule\.exports\b|\bexports\.default\b/.test(code);
}

const CONFIG_KEYS = [...Object.keys(RunnerSettingsShape), 'workers'];
const SETTINGS = z.object(RunnerSettingsShape) as unknown as SchemaLike;

const normal = (name: string): string => name.replace(/[-_]/g, '').toLowerCase();

/**
 * Keys of nsqworker broker's flags that, in a worker's config, mean one of the runner's settings:
 * the embedded broker's own addresses, lookupd's HTTP API (what a worker polls), the client's side
 * of deflate and TLS. Answered with that setting rather than sent to `nsqworker broker`.
 */
const RUNNER_SETTING_MEANT: ReadonlyMap<string, string> = new Map([
  ['tcpaddress', 'brokerTcpAddress'],
  ['httpaddress', 'brokerHttpAddress'],
  ['lookupdtcpaddresses', 'lookupdHttpAddresses'],
  ['maxdeflatelevel', 'deflateLevel'],
  ['tlsrootcafile', 'tlsCaFile'],
]);

/** A key the config does not take, with the key meant: `max_in_flight` and `MaxInFlight` are `maxInFlight`. */
function unknownKey(key: string): string {
  const same = CONFIG_KEYS.find((known) => normal(known) === normal(key)) ?? RUNNER_SETTING_MEANT.get(normal(key));
  const hint = same !== undefined ? `; did you mean ${same}?` : didYouMean(key, CONFIG_KEYS);
  // Most often a worker's own option written at the top, where the runner's settings go.
  const where = ` (the keys are the runner's settings that nsqworker --help lists, camelCased, and workers: a worker's own option goes in workers['<topic>/<channel>'].${key})`;
  return `unknown key ${key}${hint || where}`;
}

/**
 * One problem of the file, as a flag's problem is told: the key path, the value given, what would be
 * good. `brokerKeys` tells unknown top-level keys that are nsqworker broker's (brokerKeyProblems).
 */
function configProblem(issue: IssueLike & { keys?: string[]; issues?: IssueLike[] }, given: unknown, brokerKeys: ReadonlyMap<string, string>): string {
  if (issue.code === 'unrecognized_keys') return (issue.keys ?? []).map((key) => (issue.path.length === 0 ? brokerKeys.get(key) : undefined) ?? unknownKey(key)).join('; ');
  const path = issue.path;
  if (path.length === 0) return `the default export ${shownSafely(given, false)}: expected an object (export default defineConfig({ ... }))`;
  // A `workers` key that is not `<topic>/<channel>`: the problem is the key, not its value.
  if (issue.code === 'invalid_key') return `${keyPath(path)}: ${issue.issues?.[0]?.message ?? issue.message}`;
  const value = path.reduce<unknown>((at, step) => (typeof at === 'object' && at !== null ? (at as Record<PropertyKey, unknown>)[step] : undefined), given);
  const expected =
    path[0] === 'workers'
      ? path.length === 1
        ? "an object keyed '<topic>/<channel>' (e.g. { 'log/pageview': { ... } })"
        : "an object of the worker's option values"
      : describeExpected(schemaAt(SETTINGS, path) ?? SETTINGS, String(path[0]).endsWith('Ms') && path.length === 1 && 'config');
  // Hidden as in a flag's error: a secret key anywhere on the path (`authSecret`, `workers['o/c'].apiKey`).
  const secret = path.some((step) => typeof step === 'string' && isSecretOption(step));
  return `${keyPath(path)} ${shownSafely(value, secret)}: ${whatWouldBeGood(issue, expected)}`;
}

/**
 * Each of `keys` that names a flag of `nsqworker broker` (`memQueueSize`, `mem_queue_size`), with
 * where it belongs, rather than a runner setting a few letters away (it was `dedupQueueSize`); not
 * those in RUNNER_SETTING_MEANT. The broker's flags are loaded only here, on this error, as
 * run-plan.ts does for a flag.
 */
async function brokerKeyProblems(keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
  const problems = new Map<string, string>();
  const candidates = keys.filter((key) => !RUNNER_SETTING_MEANT.has(normal(key)));
  if (candidates.length === 0) return problems;
  const { BROKER_FLAGS } = await import('../../broker/nsqd/options.ts');
  for (const key of candidates) {
    const spec = BROKER_FLAGS.find((flag) => normal(flag.option) === normal(key));
    if (spec === undefined) continue;
    problems.set(key, `${key} is a setting of nsqworker broker (--${spec.flag}): the broker a worker embeds takes nsqd's defaults; run nsqworker broker --${spec.flag} … and point the worker at it with nsqdTcpAddresses`);
  }
  return problems;
}

/**
 * Checks a config module's default export against the schema; unknown keys are errors.
 * @throws RunnerError E_CONFIG_INVALID naming the file and each problem.
 */
export async function validateConfig(value: unknown, file: string): Promise<NsqworkerConfig> {
  const result = ConfigSchema.safeParse(value ?? {});
  if (!result.success) {
    const unknownKeys = result.error.issues.flatMap((issue) => (issue.code === 'unrecognized_keys' && issue.path.length === 0 ? issue.keys : []));
    const brokerKeys = await brokerKeyProblems(unknownKeys);
    const problems = result.error.issues.map((issue) => configProblem(issue as IssueLike, value ?? {}, brokerKeys));
    throw new RunnerError(RunnerErrorCode.ConfigInvalid, `${displayPath(file)}: ${problems.join('; ')}`, { cause: result.error });
  }
  // Only the keys the file sets: zod fills an optional key's inner default, and a value the file
  // does not set must not count as set there (it would outrank nothing, but --help would say "from config").
  const given = new Set(Object.keys((value ?? {}) as object));
  return Object.fromEntries(Object.entries(result.data).filter(([key]) => given.has(key))) as NsqworkerConfig;
}

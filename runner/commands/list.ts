/**
 * `nsqworker list`: every worker found, its tasks and options with the value each has in this
 * project and where it comes from, the files that fail to load, and the files whose names break the
 * naming rule (they would otherwise be left out without a word).
 */
import type { CAC } from 'cac';
import { isAbsolute, relative } from 'node:path';
import { discoverWorkers, isDirectory, namingRule, rejectedWorkerFiles } from '../worker/discover.ts';
import { noWorkersFound } from '../worker/workers-folder-hints.ts';
import { loadWorker } from '../worker/loader.ts';
import type { WorkerRuntime } from '../worker/worker-runtime.ts';
import { loadConfig, type NsqworkerConfig } from '../config/config-file.ts';
import { describeEffective, givenValueProblems } from '../config/layered-values.ts';
import { knownConfigKeys, workerOptionLayers } from '../config/worker-options.ts';
import { checkConfigWorkers } from '../config/config-workers.ts';
import { stringValue } from '../tools/args.ts';
import { exitOnceWritten } from '../one-shot-exit.ts';
import { flagLabel } from './run-help.ts';
import { runnerFlagClash } from '../config/runner-settings.ts';
import { fieldsOf, type FieldSpec } from '../config/schema-flags.ts';
import { RUN_FIELDS } from '../config/runner-settings.ts';
import { environmentTypos } from '../config/environment-typos.ts';

export interface ListContext {
  config: NsqworkerConfig;
  configPath: string | undefined;
  env: Record<string, string | undefined>;
  /**
   * Told what is no listing, for stderr (as a run's errors and warnings): a missing workers folder,
   * and each NSQWORKER_* variable a typo away from one a run of a listed worker reads (the listing
   * shows the value in effect, which such a variable left at its default). `write` when not given.
   */
  report?: (line: string) => void;
}

/** Writes the listing; resolves to the number of files that fail to load, break the naming rule, or are given values their schema refuses. */
export async function listWorkers(workersDir: string, write: (line: string) => void, context: ListContext = { config: {}, configPath: undefined, env: {} }): Promise<number> {
  const files = discoverWorkers(workersDir);
  const rejected = rejectedWorkerFiles(workersDir);
  const report = context.report ?? write;
  if (files.length === 0 && rejected.length === 0) {
    // No folder at all is a mistake (run elsewhere, or a wrong --workers-dir), as for a run: an empty one is not.
    if (isDirectory(workersDir)) {
      write(noWorkersFound(workersDir));
      return 0;
    }
    report(noWorkersFound(workersDir));
    return 1;
  }
  let failures = 0;
  // The variables a run reads: the runner's, and each worker's options' that loaded.
  const variables = RUN_FIELDS.map((field) => field.env);
  for (const file of files) {
    const key = `${file.topic}/${file.channel}`;
    let runtime: WorkerRuntime;
    try {
      ({ runtime } = await loadWorker(file));
    } catch (error) {
      failures++;
      write(`${key}  FAILED TO LOAD: ${(error as Error).message}`);
      continue;
    }
    write(`${key}  tasks: ${runtime.taskNames.join(', ')}  (${shownPath(file.path)})`);
    // A value the worker's schema refuses, or an option a run refuses, would stop the worker at
    // start: say so here too.
    const fields = runtime.optionsSchema === undefined ? [] : fieldsOf(runtime.optionsSchema);
    variables.push(...fields.map((field) => field.env));
    const clash = runnerFlagClash(fields);
    const problems = [...(clash === undefined ? [] : [clash]), ...optionProblems(runtime, fields, key, context, write)];
    if (problems.length > 0) failures++;
    for (const problem of problems) write(`    INVALID: ${problem}`);
  }
  for (const file of rejected) {
    failures++;
    write(`NOT A WORKER: ${file.path}: ${file.reason}`);
  }
  for (const typo of environmentTypos(context.env, variables)) report(typo);
  if (rejected.length > 0) write(`(${namingRule(workersDir)})`);
  return failures;
}

/** A path under the current folder relative to it (as a run names files), any other as it is. */
function shownPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') || isAbsolute(fromHere) ? path : fromHere;
}

/** Writes the worker's options with their values; returns the problems with the values given. */
function optionProblems(runtime: WorkerRuntime, fields: readonly FieldSpec[], key: string, context: ListContext, write: (line: string) => void): string[] {
  // A key the worker has no option for is named, and the values beside it judged too, as a run does.
  const { known, unknown } = knownConfigKeys(fields, context.config, context.configPath, key);
  const config = { ...context.config, workers: { ...context.config.workers, [key]: known } };
  const said = unknown === undefined ? [] : [unknown];
  let layers: ReturnType<typeof workerOptionLayers>;
  try {
    layers = workerOptionLayers(runtime, config, context.configPath, key, context.env, {});
  } catch (error) {
    // A value that does not even convert (NSQWORKER_SHIP_LIMIT=abc for a number): the options are
    // still listed, without the values in effect, which that one leaves unknown.
    for (const field of fields) write(`    ${flagLabel(field)}  ${field.description}`.trimEnd());
    return [...said, (error as Error).message];
  }
  const { layered } = layers;
  for (const field of fields) {
    write(`    ${flagLabel(field)}${describeEffective(field, layered.values[field.key], layered.origins.get(field.key))}  ${field.description}`.trimEnd());
  }
  const schema = runtime.optionsSchema;
  return [...said, ...(schema === undefined ? [] : givenValueProblems(schema, fields, layered, `options of worker ${key}`))];
}

export function registerListCommand(cli: CAC): void {
  cli
    .command('list', 'List the workers found, their tasks and options, and load errors')
    .option('--workers-dir <dir>', 'folder holding the workers')
    .option('--config <file>', 'config file (default: nsqworker.config.ts)')
    .action(async (flags: Record<string, unknown>) => {
      // The last of a repeated flag, as for a run (cac hands over an array).
      const { config, path: configPath } = await loadConfig(stringValue(cli.rawArgs, flags, 'config') ?? process.env.NSQWORKER_CONFIG);
      const workersDir = stringValue(cli.rawArgs, flags, 'workers-dir') ?? process.env.NSQWORKER_WORKERS_DIR ?? config.workersDir ?? 'workers';
      for (const warning of checkConfigWorkers(config, configPath, discoverWorkers(workersDir), workersDir)) process.stderr.write(`nsqworker: ${warning}\n`);
      const failures = await listWorkers(workersDir, (line) => process.stdout.write(`${line}\n`), {
        config,
        configPath,
        env: process.env,
        report: (line) => process.stderr.write(`nsqworker: ${line}\n`),
      });
      // A broken or misnamed worker file, or a value its schema refuses, is the user's to fix, as when running it: exit 2.
      if (failures > 0) process.exitCode = 2;
      await exitOnceWritten();
    });
}

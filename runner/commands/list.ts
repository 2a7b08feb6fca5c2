/**
 * `nsqworker list`: every worker found, its tasks and options with the value each has in this
 * project and where it comes from, the files that fail to load, and the files whose names break the
 * naming rule (they would otherwise be left out without a word).
 */
import type { CAC } from 'cac';
import { discoverWorkers, namingRule, noWorkersFound, rejectedWorkerFiles } from '../worker/discover.ts';
import { loadWorker } from '../worker/loader.ts';
import { loadConfig, type NsqworkerConfig } from '../config/config-file.ts';
import { describeEffective, givenValueProblems } from '../config/layered-values.ts';
import { workerOptionLayers } from '../config/worker-options.ts';
import { checkConfigWorkers } from '../config/config-workers.ts';

export interface ListContext {
  config: NsqworkerConfig;
  configPath: string | undefined;
  env: Record<string, string | undefined>;
}

/** Writes the listing; resolves to the number of files that fail to load, break the naming rule, or are given values their schema refuses. */
export async function listWorkers(workersDir: string, write: (line: string) => void, context: ListContext = { config: {}, configPath: undefined, env: {} }): Promise<number> {
  const files = discoverWorkers(workersDir);
  const rejected = rejectedWorkerFiles(workersDir);
  if (files.length === 0 && rejected.length === 0) {
    write(noWorkersFound(workersDir));
    return 0;
  }
  let failures = 0;
  for (const file of files) {
    const key = `${file.topic}/${file.channel}`;
    try {
      const { runtime } = await loadWorker(file);
      write(`${key}  tasks: ${runtime.taskNames.join(', ')}  (${file.path})`);
      const { fields, layered } = workerOptionLayers(runtime, context.config, context.configPath, key, context.env, {});
      for (const field of fields) {
        write(`    --${field.flag} <${field.kind}>${describeEffective(field, layered.values[field.key], layered.origins.get(field.key))}  ${field.description}`);
      }
      // A value the worker's schema refuses would stop the worker at start: say so here too.
      const schema = runtime.optionsSchema;
      const problems = schema === undefined ? [] : givenValueProblems(schema, fields, layered, `options of worker ${key}`);
      if (problems.length > 0) failures++;
      for (const problem of problems) write(`    INVALID: ${problem}`);
    } catch (error) {
      failures++;
      write(`${key}  FAILED TO LOAD: ${(error as Error).message}`);
    }
  }
  for (const file of rejected) {
    failures++;
    write(`NOT A WORKER: ${file.path}: ${file.reason}`);
  }
  if (rejected.length > 0) write(`(${namingRule(workersDir)})`);
  return failures;
}

export function registerListCommand(cli: CAC): void {
  cli
    .command('list', 'List the workers found, their tasks and options, and load errors')
    .option('--workers-dir <dir>', 'folder holding the workers')
    .option('--config <file>', 'config file (default: nsqworker.config.ts)')
    .action(async (flags: { workersDir?: string; config?: string }) => {
      const { config, path: configPath } = await loadConfig(flags.config ?? process.env.NSQWORKER_CONFIG);
      const workersDir = flags.workersDir ?? process.env.NSQWORKER_WORKERS_DIR ?? config.workersDir ?? 'workers';
      checkConfigWorkers(config, configPath, discoverWorkers(workersDir), workersDir);
      const failures = await listWorkers(workersDir, (line) => process.stdout.write(`${line}\n`), { config, configPath, env: process.env });
      // A broken or misnamed worker file, or a value its schema refuses, is the user's to fix, as when running it: exit 2.
      if (failures > 0) process.exitCode = 2;
    });
}

/** `nsqworker list`: every worker found, its tasks and options, and the files that fail to load. */
import type { CAC } from 'cac';
import { discoverWorkers } from '../worker/discover.ts';
import { loadWorker } from '../worker/loader.ts';
import { fieldsOf } from '../config/schema-flags.ts';
import { loadConfig } from '../config/config-file.ts';
import { formatDurationMs } from '../../protocol/duration.ts';

export async function listWorkers(workersDir: string, write: (line: string) => void): Promise<number> {
  const files = discoverWorkers(workersDir);
  if (files.length === 0) {
    write(`no workers under ${workersDir}/ (expected ${workersDir}/<topic>/<topic>_<channel>_worker.ts)`);
    return 0;
  }
  let failures = 0;
  for (const file of files) {
    try {
      const { runtime } = await loadWorker(file);
      write(`${file.topic}/${file.channel}  tasks: ${runtime.taskNames.join(', ')}  (${file.path})`);
      for (const field of runtime.optionsSchema === undefined ? [] : fieldsOf(runtime.optionsSchema)) {
        // A duration's default in the unit --help shows and the flag reads (500ms, not a bare 500).
        const shown = field.kind === 'duration' && typeof field.defaultValue === 'number' ? formatDurationMs(field.defaultValue) : JSON.stringify(field.defaultValue);
        const def = field.defaultValue === undefined ? '' : ` = ${shown}`;
        write(`    --${field.flag} <${field.kind}>${def}  ${field.description}`);
      }
    } catch (error) {
      failures++;
      write(`${file.topic}/${file.channel}  FAILED TO LOAD: ${(error as Error).message}`);
    }
  }
  return failures;
}

export function registerListCommand(cli: CAC): void {
  cli
    .command('list', 'List the workers found, their tasks and options, and load errors')
    .option('--workers-dir <dir>', 'folder holding the workers')
    .option('--config <file>', 'config file (default: nsqworker.config.ts)')
    .action(async (flags: { workersDir?: string; config?: string }) => {
      const { config } = await loadConfig(flags.config ?? process.env.NSQWORKER_CONFIG);
      const workersDir = flags.workersDir ?? process.env.NSQWORKER_WORKERS_DIR ?? config.workersDir ?? 'workers';
      const failures = await listWorkers(workersDir, (line) => process.stdout.write(`${line}\n`));
      if (failures > 0) process.exitCode = 1;
    });
}

/**
 * The command line of `nsqworker broker` (alias `nsqd`) and `nsqworker lookupd` (alias
 * `nsqlookupd`): the bin routes those here, so that a server process loads the server and its
 * flags, and none of the runner, the client, the file watcher or the metrics library. Exit status
 * 2 for usage errors, 1 for run-time failures, as in cli.ts.
 */
import { cac } from 'cac';
import { registerServerCommands } from './commands/servers.ts';
import { RunnerError } from './errors.ts';


async function main(argv: string[]): Promise<void> {
  const cli = cac('nsqworker');
  registerServerCommands(cli);
  cli.help();
  cli.version('0.1.0');
  try {
    cli.parse(argv, { run: false });
    await cli.runMatchedCommand();
  } catch (error) {
    const usage = (error instanceof RunnerError && error.isUsage) || (error as { name?: string }).name === 'CACError';
    if (usage) {
      process.stderr.write(`nsqworker: ${(error as Error).message}\nRun nsqworker ${argv[2]} --help for usage.\n`);
      process.exit(2);
    }
    process.stderr.write(`nsqworker: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
}

await main(process.argv);

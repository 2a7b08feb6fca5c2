/**
 * The command line of `nsqworker broker` (alias `nsqd`) and `nsqworker lookupd` (alias
 * `nsqlookupd`): the bin routes those here, so that a server process loads the server and its
 * flags, and none of the runner, the client, the file watcher or the metrics library. Exit status
 * 2 for usage errors, 1 for run-time failures, as in cli.ts.
 */
import { cac } from 'cac';
import { registerServerCommands } from './commands/servers.ts';
import { describeFailure, wantsStacks } from './cli-report.ts';


async function main(argv: string[]): Promise<void> {
  const cli = cac('nsqworker');
  registerServerCommands(cli);
  cli.help();
  cli.version('0.1.0');
  try {
    cli.parse(argv, { run: false });
    await cli.runMatchedCommand();
  } catch (error) {
    const known = [...(cli.matchedCommand?.options ?? []), ...cli.globalCommand.options].flatMap((option) => option.names).filter((name) => name.length > 1);
    const report = describeFailure(error, { stacks: wantsStacks(argv, process.env), knownOptions: known });
    process.stderr.write(`nsqworker: ${report.text}\n`);
    process.exit(report.exitCode);
  }
}

await main(process.argv);

/**
 * The command line of the commands the bin runs from a bundle of their own, which holds none of the
 * runner, the file watcher or the metrics library: the servers (`broker`, `lookupd`: server-cli.ts,
 * dist/servers.js) and NSQ's tools (`pub`, `tail`, `stats`: tool-cli.ts, dist/tools.js). A `pub`
 * started from that bundle takes 0.3 s of CPU against 0.5 s from the whole CLI (measured on Node
 * 20): the difference is mostly zod's hundred modules, which a bundle reads as one file.
 * Exit status 2 for usage errors, 1 for run-time failures, as in cli.ts.
 */
import { cac, type CAC } from 'cac';
import { asksForVersion, commandOptionNames, describeFailure, refuseGoStyleFlags, wantsStacks } from './cli-report.ts';

/**
 * Parses `argv` (process.argv's shape) for the commands `register` adds and runs the one it names;
 * a failure is one line on stderr, `nsqworker: ` and the reason, and the process exits with the
 * failure's status (cli-report.ts).
 */
export async function runStandaloneCli(argv: readonly string[], register: (cli: CAC) => void): Promise<void> {
  const cli = cac('nsqworker');
  register(cli);
  cli.help();
  cli.version('0.1.0');
  try {
    refuseGoStyleFlags(argv.slice(2), cli);
    cli.parse([...argv], { run: false });
    // `nsqd --version` prints its version and exits, as nsq's programs all do.
    if (asksForVersion(argv)) {
      cli.outputVersion();
      return;
    }
    await cli.runMatchedCommand();
  } catch (error) {
    const report = describeFailure(error, { stacks: wantsStacks(argv, process.env), knownOptions: commandOptionNames(cli), argv });
    process.stderr.write(`nsqworker: ${report.text}\n`);
    process.exit(report.exitCode);
  }
}

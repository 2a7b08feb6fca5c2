/**
 * `nsqworker --help` and a worker's `nsqworker --topic T --channel C --help`: the root command's
 * help needs the run plan (settings, config file, the worker's option schema) and nothing that runs
 * a worker, so the bin routes it here and leaves the subcommands, the broker, the client and the
 * file watcher unloaded. Failures are reported as cli.ts reports them.
 */
import { describeFailure, wantsStacks } from './cli-report.ts';
import { exitAfterFileWork } from './one-shot-exit.ts';
import { planRun } from './run-plan.ts';

try {
  // With --help, planning prints the help and plans nothing.
  await planRun(process.argv, process.env);
} catch (error) {
  const report = describeFailure(error, { stacks: wantsStacks(process.argv, process.env), knownOptions: [] });
  process.stderr.write(`nsqworker: ${report.text}\n`);
  await exitAfterFileWork(report.exitCode);
}

/**
 * The `nsqworker` command line. Usage errors (bad flags or values) exit with status 2, runtime
 * failures with 1, so supervisors can tell a broken unit from a crash.
 */
import { cac } from 'cac';
import { ZodError } from 'zod';
import { registerAdminCommand } from './commands/admin.ts';
import { registerDevCommand } from './commands/dev.ts';
import { registerListCommand } from './commands/list.ts';
import { runWorkerCommand } from './commands/run.ts';
import { registerServerCommands } from './commands/servers.ts';
import { registerToolCommands } from './commands/tools.ts';
import { RunnerError } from './errors.ts';
import { UsageError } from './config/flags.ts';

export function buildCli() {
  const cli = cac('nsqworker');
  registerServerCommands(cli);
  registerToolCommands(cli);
  registerListCommand(cli);
  registerDevCommand(cli);
  registerAdminCommand(cli);
  cli.help();
  cli.version('0.1.0');
  return cli;
}

/** Whether argv names a subcommand; anything else (flags only) runs a worker. */
function isSubcommand(cli: ReturnType<typeof buildCli>, argv: readonly string[]): boolean {
  const first = argv[2];
  if (first === undefined) return false;
  if (first === '-v' || first === '--version') return true;
  return cli.commands.some((command) => command.name === first || command.aliasNames.includes(first));
}

function isUsageError(error: unknown): boolean {
  if (error instanceof RunnerError) return error.isUsage;
  return error instanceof ZodError || (error as { name?: string }).name === 'CACError';
}

async function main(argv: string[]): Promise<void> {
  const cli = buildCli();
  try {
    if (!isSubcommand(cli, argv)) {
      await runWorkerCommand(argv);
      return;
    }
    cli.parse(argv, { run: false });
    if (cli.matchedCommand === undefined && !cli.options.help && !cli.options.version) {
      if (cli.args.length > 0) throw new UsageError(`unknown command ${JSON.stringify(cli.args[0])}`);
      cli.outputHelp();
      return;
    }
    await cli.runMatchedCommand();
  } catch (error) {
    if (isUsageError(error)) {
      const message = error instanceof ZodError ? error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n') : (error as Error).message;
      process.stderr.write(`nsqworker: ${message}\nRun nsqworker --help for usage.\n`);
      process.exit(2);
    }
    process.stderr.write(`nsqworker: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
}

await main(process.argv);

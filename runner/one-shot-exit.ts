/**
 * The end of a command that prints and is done (`list`, a run's `--help`): it loaded the user's
 * worker modules to print their options, and a timer or socket one of them started at its top level
 * would keep the process alive for ever after the output. The process exits once what it wrote to
 * stdout has been handed to the OS, with `process.exitCode` (0 unless the command set it).
 */
export function exitOnceWritten(): Promise<never> {
  return new Promise(() => {
    process.stdout.write('', () => process.exit());
  });
}

/**
 * A reader that stops early (`nsqworker list | head -1`) is not the command's failure: the process
 * exits 0 quietly on EPIPE, as Unix tools do. For commands whose output is data, not a server's log.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

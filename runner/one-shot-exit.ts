/**
 * File operations a one-shot command waits for before it exits: tsx writes its compile cache
 * (os.tmpdir()/tsx-<uid>/) with fs.promises after the module loaded, and `process.exit()` during
 * that write leaves an empty cache file, so the next `--help`, `list` or mistyped flag compiles the
 * worker again (about 100 ms of esbuild) and empties the file again. Promise-based operations only:
 * tsx also lists its whole cache folder after a write (opendir, callback-based requests) to expire
 * old entries, which took 80-90 ms with ten thousand files and need not finish.
 */
const PENDING_FILE_WORK = new Set(['FSReqPromise', 'FileHandleCloseReq']);
/** The longest a one-shot command waits for file work, in ms: a module's own endless file work must not hold it open. */
const FILE_WORK_LIMIT_MS = 1000;

/** Resolves once no file operation is pending, or after {@link FILE_WORK_LIMIT_MS}. */
async function fileWorkDone(): Promise<void> {
  const deadline = Date.now() + FILE_WORK_LIMIT_MS;
  while (process.getActiveResourcesInfo().some((kind) => PENDING_FILE_WORK.has(kind)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * Exits with `code` once pending file work is done (see {@link PENDING_FILE_WORK}): for a command
 * that failed after it loaded the user's code, where `process.exit(code)` would cut tsx's cache
 * write short.
 */
export async function exitAfterFileWork(code: number): Promise<never> {
  await fileWorkDone();
  process.exit(code);
}

/**
 * The end of a command that prints and is done (`list`, a run's `--help`): it loaded the user's
 * worker modules to print their options, and a timer or socket one of them started at its top level
 * would keep the process alive for ever after the output. The process exits once what it wrote to
 * stdout has been handed to the OS and pending file work is done, with `process.exitCode` (0 unless
 * the command set it).
 */
export function exitOnceWritten(): Promise<never> {
  return new Promise(() => {
    process.stdout.write('', () => void fileWorkDone().then(() => process.exit()));
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

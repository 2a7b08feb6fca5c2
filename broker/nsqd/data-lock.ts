/**
 * One broker per data path, as nsqd's flock on the directory ensures. A pid file cannot do this
 * after `kill -9`: the pid is reused (in a container the broker is PID 1 on every start, so the new
 * broker finds its own pid in the lock and refuses forever). So the lock is a listening Unix
 * socket, which the kernel closes when its holder dies however it dies:
 *
 * - `<data-path>/nsqworker.lock` is a socket file: a connection that is accepted means a live
 *   holder (it answers its pid); a refused one means a stale file, which is removed and taken.
 *   Anything else at that name (an old pid file) is refused the same way, and so taken over.
 * - On Linux an abstract socket named after the data path's real path is bound first: binding
 *   is atomic, so two brokers racing over the same stale file cannot both take it (they would
 *   both see it refused, both remove it, both listen). It leaves no file behind.
 *
 * A path too long for a socket address (about 100 bytes) puts the socket file in the system
 * temporary directory instead, named by a hash of the data path.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodedError } from '../../protocol/coded-error.ts';

export const DataLockErrorCode = {
  /** Another live process holds the data path. */
  Locked: 'E_DATA_PATH_LOCKED',
  /** The lock could not be taken for another reason (permissions, a socket error); `cause` says why. */
  Failed: 'E_DATA_PATH_LOCK_FAILED',
} as const;
export type DataLockErrorCode = (typeof DataLockErrorCode)[keyof typeof DataLockErrorCode];

export class DataPathLockedError extends CodedError<typeof DataLockErrorCode.Locked> {
  override readonly name = 'DataPathLockedError';
  constructor(
    readonly dataPath: string,
    /** The holder's pid as it answered, undefined when it did not answer in time. */
    readonly ownerPid: number | undefined,
  ) {
    super(DataLockErrorCode.Locked, `data path ${dataPath} is in use by another broker (pid ${ownerPid ?? 'unknown'})`);
  }
}

export class DataLockError extends CodedError<typeof DataLockErrorCode.Failed> {
  override readonly name = 'DataLockError';
}

/** Why {@link makeDataPath} cannot make its folder when a file stands in the way. */
export const DATA_PATH_NOT_A_FOLDER = 'a file is there, or above it, where a folder must be';

/**
 * Creates `dataPath` and the folders above it if missing. Throws DataLockError E_DATA_PATH_LOCK_FAILED,
 * naming the path, when a file stands where a folder must be (`--data-path /etc/passwd`): Node's own
 * "EEXIST: file already exists, mkdir" named neither the setting nor what was wrong.
 */
export function makeDataPath(dataPath: string): void {
  try {
    mkdirSync(dataPath, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? DATA_PATH_NOT_A_FOLDER : (error as Error).message;
    throw new DataLockError(DataLockErrorCode.Failed, `cannot use data path ${dataPath}: ${why}`, { cause: error });
  }
}

/** Longest socket file path used in place (sun_path is 108 bytes on Linux, 104 on macOS). */
const MAX_SOCKET_PATH = 100;
/** How long an abstract name that is bound but refuses connections may take to settle. */
const ABSTRACT_SETTLE_MS = 2000;
/** How long a live holder has to answer with its pid. */
const PID_ANSWER_TIMEOUT_MS = 1000;

/**
 * Takes the lock on `dataPath` (which must exist). Resolves to the release function (idempotent,
 * synchronous). Rejects with {@link DataPathLockedError} (`E_DATA_PATH_LOCKED`) when a live process
 * holds it, or {@link DataLockError} (`E_DATA_PATH_LOCK_FAILED`) when it cannot be taken.
 */
export async function lockDataPath(dataPath: string): Promise<() => void> {
  const real = realpathSync(dataPath);
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 32);
  const servers: net.Server[] = [];
  const release = (): void => {
    for (const server of servers.splice(0)) server.close();
  };
  try {
    if (process.platform === 'linux') {
      const abstract = `\0nsqworker-data-path:${hash}`;
      // Bound but refusing: a holder between bind and listen, or exiting. Either way it is about
      // to be a live holder or none: ask again for a short while, then count it as a holder.
      const deadline = Date.now() + ABSTRACT_SETTLE_MS;
      let server = await listenOrProbe(abstract, dataPath);
      while (server === 'stale' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        server = await listenOrProbe(abstract, dataPath);
      }
      if (server === 'stale') throw new DataPathLockedError(dataPath, undefined);
      servers.push(server);
    }
    const inPlace = join(real, 'nsqworker.lock');
    const socketPath = Buffer.byteLength(inPlace) <= MAX_SOCKET_PATH ? inPlace : join(tmpdir(), `nsqworker-${hash}.lock`);
    for (let attempt = 0; ; attempt++) {
      const server = await listenOrProbe(socketPath, dataPath);
      if (server !== 'stale') {
        servers.push(server);
        break;
      }
      if (attempt > 0) throw new DataLockError(DataLockErrorCode.Failed, `cannot take the stale lock ${socketPath}`);
      // Refused: its holder is gone. Binding the abstract name first made this removal ours alone.
      try {
        unlinkSync(socketPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  } catch (error) {
    release();
    if (error instanceof DataPathLockedError || error instanceof DataLockError) throw error;
    throw new DataLockError(DataLockErrorCode.Failed, `cannot lock data path ${dataPath}: ${(error as Error).message}`, { cause: error });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // Closing a socket server removes its file.
    release();
  };
}

/** Listens on `path`, or finds it taken: throws when a live holder answers, 'stale' when refused. */
async function listenOrProbe(path: string, dataPath: string): Promise<net.Server | 'stale'> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`${process.pid}\n`);
  });
  const listened = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen(path, () => {
      server.off('error', resolve);
      resolve(undefined);
    });
  });
  if (listened === undefined) {
    server.unref();
    return server;
  }
  if (listened.code !== 'EADDRINUSE') throw listened;
  const holder = await probe(path);
  if (holder === 'refused') return 'stale';
  throw new DataPathLockedError(dataPath, holder);
}

/** Connects to a lock socket: 'refused' when nobody listens, else the pid it answers (undefined if none in time). */
function probe(path: string): Promise<number | undefined | 'refused'> {
  return new Promise((resolve) => {
    let answer = '';
    let connected = false;
    const socket = net.connect(path);
    const timer = setTimeout(() => socket.destroy(), PID_ANSWER_TIMEOUT_MS);
    socket.setEncoding('latin1');
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      if (!connected) return resolve('refused');
      const pid = Number.parseInt(answer, 10);
      resolve(Number.isInteger(pid) ? pid : undefined);
    });
  });
}

/**
 * Saying so when the broker reaches its file-descriptor limit. On Linux, libuv meets EMFILE in
 * accept() by closing the pending connections itself (its "emfile trick"), so the process never sees
 * an error: clients are just closed, and an operator learns nothing. So each listener counts its
 * open connections and, when the estimate of the process's open files comes near the limit,
 * counts them for real (/proc/self/fd, at most once a second) and logs, at most once every 10 s, how
 * many are in use, the limit, and how to raise it. Elsewhere, and for other accept failures, Node
 * emits 'error' on the server, which is logged the same way instead of ending the process.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';

const LOG_EVERY_MS = 10_000;
const COUNT_EVERY_MS = 1000;
/** Within this many of the limit, connections are about to be refused. */
const HEADROOM = 8;

/** The soft limit on open files, from /proc (Linux); undefined elsewhere. */
function openFilesLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

function openFiles(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** Watches `server` (named `what` in the log: `TCP`, `HTTP`). */
export function watchFdLimit(server: Server, what: string, logger: Logger, limit = openFilesLimit()): void {
  let connections = 0;
  let lastLogAt = 0;
  let lastCountAt = 0;
  // Open files other than this listener's connections, as last counted.
  let others = openFiles() ?? 0;
  const report = (inUse: number | undefined, code: string): void => {
    const now = Date.now();
    if (now - lastLogAt < LOG_EVERY_MS) return;
    lastLogAt = now;
    logger.error(
      { listener: what, code, openFiles: inUse, openFilesLimit: limit, connections },
      `${what}: too many open files (${inUse ?? '?'} of ${limit ?? '?'}): new connections are refused; raise the limit (ulimit -n, systemd LimitNOFILE)`,
    );
  };
  server.on('connection', (socket: Socket) => {
    connections++;
    socket.once('close', () => connections--);
    if (limit === undefined || others + connections < limit - 4 * HEADROOM) return;
    const now = Date.now();
    if (now - lastCountAt < COUNT_EVERY_MS && others + connections < limit - HEADROOM) return;
    lastCountAt = now;
    const inUse = openFiles();
    if (inUse === undefined) return;
    others = inUse - connections;
    if (inUse >= limit - HEADROOM) report(inUse, 'EMFILE');
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EMFILE' || error.code === 'ENFILE') return report(openFiles(), error.code);
    logger.error({ listener: what, err: error }, `${what}: cannot accept a connection`);
  });
}

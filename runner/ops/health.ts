/**
 * The worker's health and metrics endpoint (`--health-address host:port`):
 *
 * - `GET /healthz` answers 200 once every task's consumer is connected and subscribed, 503 before
 *   that, while every nsqd of a task is unreachable, and from the first shutdown signal on (so a load
 *   balancer or orchestrator stops counting on a worker that is draining). The JSON body says why.
 * - `GET /metrics` answers the Prometheus text format (see metrics.ts).
 *
 * It listens as soon as its address is known (from the command line or the environment before the
 * config and the worker load, else right after the config), answering 503 `starting` until the
 * worker runs, and it is stopped last on shutdown, so the drain can be watched to the end.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { parseHealthAddress } from '../config/health-address.ts';
import type { Readiness, WorkerMetrics } from './metrics.ts';

export interface HealthServer {
  /** The bound `host:port` (the real port when 0 was asked for). */
  readonly address: string;
  /** Answers from `source` from now on, and logs where it listens. */
  serve(source: HealthSource, logger: Logger): void;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(head ? undefined : body);
}

/** What /healthz and /metrics read: the worker's metrics once it runs, {@link STARTING} before. */
export interface HealthSource {
  readiness(): Readiness;
  scrape(): Promise<{ contentType: string; body: string }>;
}

/**
 * The answers while the worker is still loading (its config, its code, its broker): not ready, and a
 * /metrics a scraper can read, so an orchestrator polling from the first moment gets a 503, not a
 * refused connection it may count as a crash.
 */
export const STARTING: HealthSource = {
  readiness: () => ({ ready: false, status: 'starting', tasks: {} }),
  scrape: async () => ({
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    body: '# HELP nsqworker_ready 1 when every task is subscribed and the worker is not draining.\n# TYPE nsqworker_ready gauge\nnsqworker_ready 0\n',
  }),
};

async function answer(req: IncomingMessage, res: ServerResponse, source: HealthSource): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    return;
  }
  if (path === '/healthz') {
    const readiness = source.readiness();
    send(res, readiness.ready ? 200 : 503, 'application/json', `${JSON.stringify(readiness)}\n`, head);
    return;
  }
  // Liveness, answered as nsqd answers it (http_api.go's doPing: 200 "OK"): the process serves,
  // ready or not. It also tells a second process that finds this port taken who holds it.
  if (path === '/ping') {
    send(res, 200, 'text/plain; charset=utf-8', 'OK', head);
    return;
  }
  if (path === '/metrics') {
    const { contentType, body } = await source.scrape();
    send(res, 200, contentType, body, head);
    return;
  }
  send(res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz, /ping or /metrics\n', head);
}

/**
 * Listens on `address` and answers {@link STARTING} until `serve()` hands it the worker's metrics.
 * Quiet: nothing is logged before `serve()` names the logger.
 */
export async function listenHealthServer(address: string): Promise<HealthServer> {
  const { host, port } = parseHealthAddress(address);
  let source: HealthSource = STARTING;
  let logger: Logger | undefined;
  const server: Server = createServer((req, res) => {
    answer(req, res, source).catch((error: unknown) => {
      logger?.error({ err: error }, 'health endpoint failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n', false);
      else res.destroy();
    });
  });
  // A scraper that stalls must not hold the process open on shutdown, nor a slot for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const boundAddress = bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  let closing: Promise<void> | undefined;
  return {
    address: boundAddress,
    serve(next, log) {
      source = next;
      logger = log;
      log.info({ healthAddress: boundAddress }, `health and metrics on http://${boundAddress}/healthz and /metrics`);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Listens on `address` and serves /healthz and /metrics from `metrics` at once. */
export async function startHealthServer(address: string, metrics: WorkerMetrics, logger: Logger): Promise<HealthServer> {
  const server = await listenHealthServer(address);
  server.serve(metrics, logger);
  return server;
}

/**
 * `startConsole()`: the web console as one object — the poller, the model it fills, and an HTTP
 * server for the page and its API under the base path — with an idempotent `close()`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TlsOption } from '../../client/options.ts';
import pino from 'pino';
import { joinHostPort, parseHostPort } from '../../protocol/address.ts';
import { handleApi, type ApiContext } from './api.ts';
import { ClusterModel } from './cluster.ts';
import { DeadLetterReaders } from './dead-letters.ts';
import { WorkerHealthReader } from './worker-health.ts';
import { createUpstreamClient } from './http-client.ts';
import { ConsoleOptionsSchema, normaliseBasePath, type ConsoleOptions, type ConsoleOptionsInput } from './options.ts';
import { loadPageAssets, type PageAssets } from './page-bundle.ts';
import { ClusterPoller } from './poller.ts';

export interface ConsoleHandle {
  /** The bound address, `host:port`. */
  readonly httpAddress: string;
  /** The page's URL, base path included. */
  readonly url: string;
  readonly model: ClusterModel;
  /** Resolves after the next poll round is in the model. */
  nextRound(): Promise<void>;
  close(): Promise<void>;
}

// The page sets inline styles (charts size themselves), so style attributes are allowed; scripts
// come from this origin only, and no other site may frame the page (its buttons act on the cluster).
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
};

function indexHtml(basePath: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nsqworker console</title>
<base href="${basePath}">
<link rel="stylesheet" href="assets/app.css">
<script defer src="assets/app.js"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
}

function sendAsset(res: ServerResponse, type: string, body: Buffer | string): void {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache', ...PAGE_HEADERS });
  res.end(body);
}

export async function startConsole(input: ConsoleOptionsInput = {}): Promise<ConsoleHandle> {
  const options = ConsoleOptionsSchema.parse(input);
  const logger = options.logger ?? pino({ level: 'silent' });
  const basePath = normaliseBasePath(options.basePath);
  const model = new ClusterModel(options.pollIntervalMs);
  const tls = tlsOptions(options);
  const upstream = createUpstreamClient(options.httpClientRequestTimeoutMs, tls);
  const poller = new ClusterPoller({ ...options, intervalMs: options.pollIntervalMs, upstream, model, logger });
  const deadLetters = new DeadLetterReaders({ model, upstream, logger, readOnly: options.readOnly, ...(tls === undefined ? {} : { tls }) });
  const ctx: ApiContext = { options, model, upstream, deadLetters, workerHealth: new WorkerHealthReader(options.pollIntervalMs), logger };
  const html = indexHtml(basePath);
  let assets: Promise<PageAssets> | undefined;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console');
    if (`${url.pathname}/` === basePath) {
      res.writeHead(301, { Location: basePath });
      return void res.end();
    }
    if (!url.pathname.startsWith(basePath)) return notFound(res);
    const path = url.pathname.slice(basePath.length);
    if (path.startsWith('api/')) {
      if (await handleApi(ctx, path.slice(4), url, req, res)) return;
      return notFound(res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return notFound(res);
    if (path === '') return sendAsset(res, 'text/html; charset=utf-8', html);
    if (path === 'assets/app.js' || path === 'assets/app.css') {
      assets ??= loadPageAssets();
      const loaded = await assets;
      return path.endsWith('.js') ? sendAsset(res, 'text/javascript; charset=utf-8', loaded.js) : sendAsset(res, 'text/css; charset=utf-8', loaded.css);
    }
    return notFound(res);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      logger.error({ err: error, url: req.url }, 'console request failed');
      if (res.headersSent) return res.destroy();
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'INTERNAL_ERROR' }));
    });
  });
  server.keepAliveTimeout = 5000;

  const wanted = parseHostPort(options.httpAddress);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: wanted.host, port: wanted.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('console listener has no address');
  const httpAddress = joinHostPort(bound.address, bound.port);
  // The first round runs in the background: the page shows "waiting" rather than the listen waiting.
  const firstRound = poller.nextRound();
  void poller.start();
  logger.info({ httpAddress, basePath }, `console: listening on http://${httpAddress}${basePath}`);

  let closing: Promise<void> | undefined;
  return {
    httpAddress,
    url: `http://${httpAddress}${basePath}`,
    model,
    nextRound: () => (model.tick === 0 ? firstRound : poller.nextRound()),
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await poller.close();
        await deadLetters.close();
        await closed;
      })();
      return closing;
    },
  };
}

/** The `--http-client-tls-*` options as Node TLS options; undefined when none is given. */
function tlsOptions(options: ConsoleOptions): TlsOption | undefined {
  const read = (flag: string, path: string): Buffer | undefined => {
    if (path === '') return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`--${flag}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  const ca = read('http-client-tls-root-ca-file', options.httpClientTlsRootCaFile);
  const cert = read('http-client-tls-cert', options.httpClientTlsCert);
  const key = read('http-client-tls-key', options.httpClientTlsKey);
  if (ca === undefined && cert === undefined && key === undefined && !options.httpClientTlsInsecureSkipVerify) return undefined;
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }), ...(options.httpClientTlsInsecureSkipVerify ? { rejectUnauthorized: false } : {}) };
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ message: 'NOT_FOUND' }));
}

/**
 * `startBroker()`: the bundled nsqd as one object — state loaded from the data path, TCP and HTTP
 * listeners bound (port 0 picks a free port), and an idempotent `close()` that persists everything.
 */
import type { Server } from 'node:http';
import pino from 'pino';
import { joinHostPort, parseHostPort } from '../lookupd/address.ts';
import { createHttpServer } from './http-api.ts';
import { Nsqd } from './nsqd.ts';
import { BrokerOptionsSchema, type BrokerOptionsInput } from './options.ts';
import { TcpServer } from './tcp-server.ts';

export interface BrokerHandle {
  /** The bound TCP address, `host:port`. */
  readonly tcpAddress: string;
  readonly httpAddress: string;
  readonly tcpPort: number;
  readonly httpPort: number;
  /** The broker's state, for embedding and tests. */
  readonly nsqd: Nsqd;
  /** Stops listening, closes clients and persists every message. Safe to call more than once. */
  close(): Promise<void>;
}

function listenHttp(server: Server, host: string, port: number): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('HTTP listener has no address'));
      resolve({ host: address.address, port: address.port });
    });
  });
}

export async function startBroker(input: BrokerOptionsInput = {}): Promise<BrokerHandle> {
  const options = BrokerOptionsSchema.parse(input);
  const logger = options.logger ?? pino({ level: 'silent' });
  const nsqd = new Nsqd(options, logger);
  nsqd.load();

  const tcp = new TcpServer(nsqd);
  const tcpWanted = parseHostPort(options.tcpAddress);
  const httpWanted = parseHostPort(options.httpAddress);
  let ports = { tcpPort: 0, httpPort: 0 };
  const http = createHttpServer({ nsqd, clients: () => tcp.clients, ports: () => ports });
  // Keep-alive sockets would hold close() open; nsqd's clients do not depend on them.
  http.keepAliveTimeout = 5000;

  let tcpBound: { host: string; port: number };
  let httpBound: { host: string; port: number };
  try {
    tcpBound = await tcp.listen(tcpWanted.host, tcpWanted.port);
    httpBound = await listenHttp(http, httpWanted.host, httpWanted.port);
  } catch (error) {
    await tcp.close();
    http.close();
    nsqd.persistAndClose();
    throw error;
  }
  ports = { tcpPort: tcpBound.port, httpPort: httpBound.port };
  const tcpAddress = joinHostPort(tcpBound.host, tcpBound.port);
  const httpAddress = joinHostPort(httpBound.host, httpBound.port);
  logger.info({ tcpAddress, httpAddress, dataPath: options.dataPath }, `TCP: listening on ${tcpAddress}, HTTP: listening on ${httpAddress}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      nsqd.exiting = true;
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await tcp.close();
      await httpClosed;
      nsqd.persistAndClose();
      logger.info('broker stopped; state persisted');
    })();
    return closing;
  };

  return { tcpAddress, httpAddress, tcpPort: tcpBound.port, httpPort: httpBound.port, nsqd, close };
}

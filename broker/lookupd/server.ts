/**
 * Starts the bundled nsqlookupd: the TCP protocol V1 listener nsqd registers over, and the HTTP API
 * consumers and nsqadmin query, sharing one registration database.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { hostname } from 'node:os';
import { goJson } from '../http-v1.ts';
import { encodeSizedPayload } from '../../protocol/frames.ts';
import { joinHostPort, parseHostPort } from '../../protocol/address.ts';
import { LookupdError, LookupdErrorCode } from './errors.ts';
import { createRouter } from './http-router.ts';
import { lookupdRoutes } from './http-api.ts';
import { LOOKUPD_VERSION, resolveLookupdOptions, type LookupdOptionsInput } from './options.ts';
import { RegistrationDb } from './registry.ts';
import { LookupConnection, type LookupdProtocolContext } from './tcp-protocol.ts';

export interface LookupdHandle {
  /** The bound TCP address, `host:port` (the real port when 0 was asked). */
  readonly tcpAddress: string;
  /** The bound HTTP address, `host:port`. */
  readonly httpAddress: string;
  readonly tcpPort: number;
  readonly httpPort: number;
  /** Stops listening and drops every connection. Idempotent: later calls wait on the first. */
  close(): Promise<void>;
}

function listen(server: TcpServer | HttpServer, address: string, what: string): Promise<AddressInfo> {
  const { host, port } = parseHostPort(address);
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new LookupdError(LookupdErrorCode.ListenFailed, `cannot listen for ${what} on ${address}: ${error.message}`, { cause: error }));
    };
    server.once('error', onError);
    // An empty host (`:4160`) means every interface, as in Go.
    server.listen({ port, ...(host === '' ? {} : { host }) }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: TcpServer | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

/** Starts a lookupd. Rejects with {@link LookupdError} on bad options or when a port cannot be bound. */
export async function startLookupd(input: LookupdOptionsInput = {}): Promise<LookupdHandle> {
  const options = resolveLookupdOptions(input);
  const logger = options.logger.child({ component: 'lookupd' });
  const db = new RegistrationDb();
  const connections = new Set<LookupConnection>();
  const now = (): number => Date.now();

  const http = createHttpServer(
    createRouter(
      lookupdRoutes({
        db,
        inactiveProducerTimeoutMs: options.inactiveProducerTimeoutMs,
        tombstoneLifetimeMs: options.tombstoneLifetimeMs,
        now,
      }),
      logger,
    ),
  );
  http.on('clientError', (error, socket) => {
    logger.debug({ err: error }, 'bad HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  // The IDENTIFY reply names the bound ports, so it is built once both listeners are up; no
  // connection is read before then (accepting happens after the listen callbacks have run).
  const protocolContext: { -readonly [K in keyof LookupdProtocolContext]: LookupdProtocolContext[K] } = {
    db,
    logger,
    identifyReply: Buffer.alloc(0),
    now,
  };
  const tcp = createTcpServer((socket) => {
    const connection = new LookupConnection(socket, protocolContext);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });

  let tcpInfo: AddressInfo;
  let httpInfo: AddressInfo;
  try {
    tcpInfo = await listen(tcp, options.tcpAddress, 'TCP');
    httpInfo = await listen(http, options.httpAddress, 'HTTP');
  } catch (error) {
    await Promise.all([closeServer(tcp), closeServer(http)]);
    throw error;
  }
  // After the listens: a port in use is the rejection above, not also a logged stack.
  tcp.on('error', (error) => logger.error({ err: error }, 'TCP listener error'));
  http.on('error', (error) => logger.error({ err: error }, 'HTTP listener error'));

  // Keys sorted, as Go marshals a map.
  protocolContext.identifyReply = encodeSizedPayload(
    goJson({
      broadcast_address: options.broadcastAddress,
      hostname: hostname(),
      http_port: httpInfo.port,
      tcp_port: tcpInfo.port,
      version: LOOKUPD_VERSION,
    }),
  );
  const tcpAddress = joinHostPort(tcpInfo.address, tcpInfo.port);
  const httpAddress = joinHostPort(httpInfo.address, httpInfo.port);
  logger.info({ tcpAddress, httpAddress, broadcastAddress: options.broadcastAddress }, `TCP: listening on ${tcpAddress}, HTTP: listening on ${httpAddress}`);

  let closing: Promise<void> | undefined;
  return {
    tcpAddress,
    httpAddress,
    tcpPort: tcpInfo.port,
    httpPort: httpInfo.port,
    close() {
      closing ??= (async () => {
        const stopped = Promise.all([closeServer(tcp), closeServer(http)]);
        for (const connection of connections) connection.destroy();
        http.closeAllConnections();
        await stopped;
        logger.info('lookupd closed');
      })();
      return closing;
    },
  };
}

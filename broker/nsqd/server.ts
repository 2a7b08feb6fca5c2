/**
 * `startBroker()`: the bundled nsqd as one object — TCP and HTTP listeners bound (port 0 picks a
 * free port), then state loaded from the data path, and an idempotent `close()` that persists
 * everything.
 */
import { lookup } from 'node:dns/promises';
import type { RequestListener } from 'node:http';
import type { Server } from 'node:net';
import { hostname } from 'node:os';
import pino from 'pino';
import { joinHostPort, parseHostPort } from '../../protocol/address.ts';
import { createHttpServer, httpHandler } from './http-api.ts';
import { createHttpsServer, plainHttpHandler } from './https-server.ts';
import { buildBrokerTls, effectiveOptions } from './tls-context.ts';
import { Nsqd } from './nsqd.ts';
import { NSQD_VERSION, resolveBrokerOptions, type BrokerOptionsInput } from './options.ts';
import { TcpServer } from './tcp-server.ts';
import { lockDataPath, makeDataPath } from './data-lock.ts';
import { watchFdLimit } from './fd-limit.ts';
import { LookupdRegistrar } from './lookup-registration.ts';
import type { Nsqd as NsqdState } from './nsqd.ts';

export interface BrokerHandle {
  /** The bound TCP address, `host:port`. */
  readonly tcpAddress: string;
  readonly httpAddress: string;
  readonly tcpPort: number;
  readonly httpPort: number;
  /** The bound HTTPS address and port, when the broker has a certificate and key. */
  readonly httpsAddress: string | undefined;
  readonly httpsPort: number | undefined;
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

/** A request handler that waits until `ready` before it serves (a request that came before the state loaded). */
function whenReady(ready: { done: boolean; promise: Promise<void> }, handler: RequestListener): RequestListener {
  return (request, response) => {
    if (ready.done) handler(request, response);
    else void ready.promise.then(() => handler(request, response));
  };
}

export async function startBroker(input: BrokerOptionsInput = {}): Promise<BrokerHandle> {
  const options = effectiveOptions(resolveBrokerOptions(input));
  const tls = buildBrokerTls(options);
  const logger = options.logger ?? pino({ level: 'silent' });
  const nsqd = new Nsqd(options, logger);
  nsqd.tls = tls;

  const tcp = new TcpServer(nsqd);
  const tcpWanted = parseHostPort(options.tcpAddress);
  const httpWanted = parseHostPort(options.httpAddress);
  let ports = { tcpPort: 0, httpPort: 0 };
  let httpsBound: { host: string; port: number } | undefined;
  let markReady = (): void => {};
  const ready = { done: false, promise: new Promise<void>((resolve) => (markReady = resolve)) };
  const api = whenReady(ready, httpHandler({ nsqd, clients: () => tcp.clients, ports: () => ports }));
  const http = createHttpServer(
    { nsqd, clients: () => tcp.clients, ports: () => ports },
    plainHttpHandler(api, options.tlsRequired === 'true', () => httpsBound?.port ?? 0),
  );
  const https = tls === undefined ? undefined : createHttpsServer(tls, api);
  // Keep-alive sockets would hold close() open; nsqd's clients do not depend on them.
  http.keepAliveTimeout = 5000;
  if (https !== undefined) https.keepAliveTimeout = 5000;
  /** Stops every listener and drops its connections; resolves once all of them are closed. */
  const closeListeners = async (): Promise<void> => {
    const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeAllConnections();
    const httpsClosed = new Promise<void>((resolve) => (https === undefined ? resolve() : https.close(() => resolve())));
    https?.closeAllConnections();
    await tcp.close();
    await httpClosed;
    await httpsClosed;
  };

  // The ports first: a taken one fails at once, before the data path is created, locked, read
  // (many topics take a while to restore) or rewritten on the way out.
  let tcpBound: { host: string; port: number };
  let httpBound: { host: string; port: number };
  try {
    tcpBound = await tcp.listen(tcpWanted.host, tcpWanted.port);
    httpBound = await listenHttp(http, httpWanted.host, httpWanted.port);
    if (https !== undefined) {
      const httpsWanted = parseHostPort(options.httpsAddress);
      httpsBound = await listenHttp(https, httpsWanted.host, httpsWanted.port);
    }
  } catch (error) {
    await closeListeners();
    throw error;
  }
  let unlock: () => void;
  try {
    makeDataPath(options.dataPath);
    unlock = await lockDataPath(options.dataPath);
    try {
      nsqd.load();
    } catch (error) {
      unlock();
      throw error;
    }
  } catch (error) {
    await closeListeners();
    throw error;
  }
  // Clients that connected while the state loaded are served now, in order of arrival.
  ready.done = true;
  markReady();
  tcp.open();
  ports = { tcpPort: tcpBound.port, httpPort: httpBound.port };
  watchFdLimit(tcp.server, 'TCP', logger);
  watchFdLimit(http, 'HTTP', logger);
  const tcpAddress = joinHostPort(tcpBound.host, tcpBound.port);
  const httpAddress = joinHostPort(httpBound.host, httpBound.port);
  logger.info({ tcpAddress, httpAddress, dataPath: options.dataPath }, `TCP: listening on ${tcpAddress}, HTTP: listening on ${httpAddress}`);
  // As nsqd does at start: a broadcast port left at 0 becomes the port listened on (/config shows it).
  if (options.broadcastTcpPort === 0) options.broadcastTcpPort = tcpBound.port;
  if (options.broadcastHttpPort === 0) options.broadcastHttpPort = httpBound.port;
  const registrar = startRegistration(nsqd, options.broadcastTcpPort, options.broadcastHttpPort);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      nsqd.exiting = true;
      await closeListeners();
      await registrar.close();
      nsqd.persistAndClose();
      unlock();
      logger.info('broker stopped; state persisted');
    })();
    return closing;
  };

  const httpsAddress = httpsBound === undefined ? undefined : joinHostPort(httpsBound.host, httpsBound.port);
  if (httpsAddress !== undefined) logger.info({ httpsAddress }, `HTTPS: listening on ${httpsAddress}`);
  return { tcpAddress, httpAddress, httpsAddress, httpsPort: httpsBound?.port, tcpPort: tcpBound.port, httpPort: httpBound.port, nsqd, close };
}

/**
 * Registers this broker's topics and channels with every lookupd it is given (now, or later through
 * `PUT /config/nsqlookupd_tcp_addresses`). Registration never blocks publishing or delivery.
 */
function startRegistration(nsqd: NsqdState, tcpPort: number, httpPort: number): LookupdRegistrar {
  const { options, logger } = nsqd;
  const registrar = new LookupdRegistrar({
    lookupdTcpAddresses: options.lookupdTcpAddresses,
    identity: { broadcastAddress: options.broadcastAddress, hostname: hostname(), tcpPort, httpPort, version: NSQD_VERSION },
    snapshot: () =>
      [...nsqd.topics.values()].map((topic) => ({ topic: topic.name, channels: [...topic.channels.keys()] })),
    logger,
  });
  nsqd.addTopologyListener({
    topicCreated: (topic) => registrar.registerTopic(topic),
    topicDeleted: (topic) => registrar.unregisterTopic(topic),
    channelCreated: (topic, channel) => registrar.registerChannel(topic, channel),
    channelDeleted: (topic, channel) => registrar.unregisterChannel(topic, channel),
  });
  nsqd.onLookupdAddressesChanged((addresses) => registrar.setLookupdTcpAddresses(addresses));
  nsqd.setChannelDiscovery((topic) => {
    const lookupds = registrar.lookupdHttpAddresses();
    return lookupds.length === 0 ? undefined : channelsFromLookupds(lookupds, topic);
  });
  registrar.start();
  if (options.lookupdTcpAddresses.length > 0) {
    // The most common NSQ misconfiguration: consumers are told an address they cannot resolve.
    lookup(options.broadcastAddress).catch(() =>
      logger.warn(
        { broadcastAddress: options.broadcastAddress },
        'broadcast address does not resolve: consumers finding this broker through lookupd will fail to connect; set --broadcast-address',
      ),
    );
  }
  return registrar;
}

/** The union of the channels every lookupd lists for a topic; a lookupd that fails is skipped. */
async function channelsFromLookupds(httpAddresses: readonly string[], topic: string): Promise<string[]> {
  const lists = await Promise.all(
    httpAddresses.map(async (address) => {
      try {
        const response = await fetch(`http://${address}/channels?topic=${encodeURIComponent(topic)}`, {
          headers: { Accept: 'application/vnd.nsq; version=1.0' },
          signal: AbortSignal.timeout(2000),
        });
        if (!response.ok) return [];
        const body = (await response.json()) as { channels?: unknown };
        return Array.isArray(body.channels) ? body.channels.filter((channel): channel is string => typeof channel === 'string') : [];
      } catch {
        return [];
      }
    }),
  );
  return [...new Set(lists.flat())];
}

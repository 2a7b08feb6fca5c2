/**
 * The embedded default: with no nsqd or lookupd configured, the runner starts the bundled broker in
 * its own process on 127.0.0.1 (never all interfaces by default) with a persistent data path. If an
 * NSQ broker already listens there (a second worker started beside the first), it uses that one and
 * says so, instead of failing.
 */
import type { Logger } from 'pino';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';
import { joinHostPort, parseHostPort } from '../../protocol/address.ts';
import { NsqdHttp } from './nsqd-http.ts';
import { ensureTaskChannels } from './task-channels.ts';

export interface EmbeddedBroker {
  tcpAddress: string;
  httpAddress: string;
  /** The broker this process started, or undefined when it joined one that was already running. */
  handle: BrokerHandle | undefined;
  close(): Promise<void>;
}

/** Asks the HTTP address whether an nsqd answers there, and where its TCP port is. */
async function probeRunningBroker(httpAddress: string): Promise<string | undefined> {
  try {
    const response = await fetch(`http://${httpAddress}/info`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return undefined;
    const info = (await response.json()) as { tcp_port?: unknown; version?: unknown };
    if (typeof info.tcp_port !== 'number' || typeof info.version !== 'string') return undefined;
    return joinHostPort(parseHostPort(httpAddress).host, info.tcp_port);
  } catch {
    return undefined;
  }
}

export async function startEmbeddedBroker(params: {
  tcpAddress: string;
  httpAddress: string;
  dataPath: string;
  logger: Logger;
}): Promise<EmbeddedBroker> {
  const { logger } = params;
  try {
    const handle = await startBroker({
      tcpAddress: params.tcpAddress,
      httpAddress: params.httpAddress,
      dataPath: params.dataPath,
      broadcastAddress: parseHostPort(params.tcpAddress).host || '127.0.0.1',
      logger: logger.child({ component: 'broker' }),
    });
    logger.info(
      { tcpAddress: handle.tcpAddress, httpAddress: handle.httpAddress, dataPath: params.dataPath },
      `embedded broker listening on ${handle.tcpAddress} (TCP) and ${handle.httpAddress} (HTTP)`,
    );
    return { tcpAddress: handle.tcpAddress, httpAddress: handle.httpAddress, handle, close: () => handle.close() };
  } catch (error) {
    // Taken ports, or our data path locked by a running broker: perhaps a sibling worker's broker.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'E_DATA_PATH_LOCKED') throw error;
    const running = await probeRunningBroker(params.httpAddress);
    if (running === undefined) throw error;
    logger.info({ tcpAddress: running, httpAddress: params.httpAddress }, `an NSQ broker is already running at ${running}: using it`);
    return { tcpAddress: running, httpAddress: params.httpAddress, handle: undefined, close: async () => {} };
  }
}

/**
 * Creates every task channel of the worker before any task subscribes. A topic keeps its messages
 * until its first channel appears, then hands them all to that channel: a backlog published before
 * a worker's first start would go to whichever task subscribed first, and its other tasks would
 * never see it. On a broker this process started, directly (no message can slip in between); on
 * one it joined, through nsqd's HTTP API with the topic paused meanwhile (task-channels.ts).
 */
export async function createTaskChannels(broker: EmbeddedBroker, topic: string, channels: readonly string[]): Promise<void> {
  if (broker.handle !== undefined) {
    const created = broker.handle.nsqd.getOrCreateTopic(topic);
    for (const channel of channels) created.getOrCreateChannel(channel);
    return;
  }
  await ensureTaskChannels(new NsqdHttp(broker.httpAddress), topic, channels);
}

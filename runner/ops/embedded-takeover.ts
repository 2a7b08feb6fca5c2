/**
 * A worker that joined another worker's embedded broker must not be orphaned when that worker
 * stops. When a connection to the joined broker drops, this checks whether the broker is still
 * there; if it has gone, the worker starts one itself — on its own --broker-* addresses, on its
 * --data-path, once the stopped broker (still persisting) has freed the data-path lock — and carries
 * on. Several orphans race for the lock: one wins and starts the broker, the others find it
 * answering and join it. A worker whose data path is not the one the stopped broker used would
 * start an empty broker beside the stranded messages: it says so in one line and gives up instead.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { startBroker } from '../../broker/nsqd/server.ts';
import { parseHostPort } from '../../protocol/address.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import { joinedBroker, probeRunningBroker, type EmbeddedBroker } from './embedded.ts';
import { carryIdScope } from '../worker/dedup.ts';

export interface TakeoverParams {
  /** The broker joined at start. */
  joined: EmbeddedBroker;
  brokerTcpAddress: string;
  brokerHttpAddress: string;
  dataPath: string;
  logger: Logger;
  /** The broker now in use (started here, or another orphan's, joined): point the tasks at it. */
  onBroker(next: EmbeddedBroker, previous: EmbeddedBroker): Promise<void>;
  /** This worker cannot carry on (the error says why, in one line). */
  onFatal(error: RunnerError): void;
}

/** Retry delays while the data path is still locked or the ports still taken. */
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 1000;

function samePath(a: string, b: string): boolean {
  const real = (path: string): string => {
    try {
      return realpathSync(resolve(path));
    } catch {
      return resolve(path);
    }
  };
  return real(a) === real(b);
}

const isTaken = (error: unknown): boolean => {
  const code = (error as { code?: unknown }).code;
  return code === 'EADDRINUSE' || code === 'E_DATA_PATH_LOCKED';
};

export class JoinedBrokerWatch {
  private broker: EmbeddedBroker;
  private checking: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly params: TakeoverParams) {
    this.broker = params.joined;
  }

  /** The broker in use now: the one joined, one this worker started, or another orphan's. */
  get current(): EmbeddedBroker {
    return this.broker;
  }

  /** A connection to the broker dropped: check whether it is still there (once at a time). */
  suspect(): void {
    if (this.stopped || this.broker.handle !== undefined || this.checking !== undefined) return;
    this.checking = this.check()
      .catch((error: unknown) => this.params.logger.error({ err: error }, 'could not replace the embedded broker'))
      .finally(() => (this.checking = undefined));
  }

  /** No more checks or takeovers; waits for one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.checking;
  }

  private async check(): Promise<void> {
    const previous = this.broker;
    const answering = await probeRunningBroker(previous.httpAddress);
    if (answering !== undefined && answering.startTime === previous.joined?.startTime) return; // a dropped connection, not a stopped broker
    if (answering !== undefined) return this.use(joinedBroker(answering, previous.httpAddress), previous, 'joined the broker that replaced it');

    const { logger, dataPath } = this.params;
    const theirs = previous.joined?.dataPath;
    if (theirs !== undefined && !samePath(theirs, dataPath)) {
      this.stopped = true;
      this.params.onFatal(
        new RunnerError(
          RunnerErrorCode.BrokerGone,
          `the embedded broker at ${previous.tcpAddress} stopped and its messages are in ${theirs}, not in this worker's --data-path ${resolve(dataPath)}: restart this worker with --data-path ${theirs}`,
        ),
      );
      return;
    }
    logger.warn(
      { tcpAddress: previous.tcpAddress, dataPath: resolve(dataPath) },
      `the embedded broker at ${previous.tcpAddress} stopped: starting one here once ${resolve(dataPath)} is free`,
    );
    for (let waitMs = FIRST_RETRY_MS; !this.stopped; waitMs = Math.min(waitMs * 2, MAX_RETRY_MS)) {
      try {
        const handle = await startBroker({
          tcpAddress: this.params.brokerTcpAddress,
          httpAddress: this.params.brokerHttpAddress,
          dataPath: resolve(dataPath),
          broadcastAddress: parseHostPort(this.params.brokerTcpAddress).host || '127.0.0.1',
          logger: logger.child({ component: 'broker' }),
        });
        if (this.stopped) {
          await handle.close();
          return;
        }
        const started: EmbeddedBroker = { tcpAddress: handle.tcpAddress, httpAddress: handle.httpAddress, handle, close: () => handle.close() };
        logger.info(
          { tcpAddress: handle.tcpAddress, httpAddress: handle.httpAddress, dataPath: resolve(dataPath) },
          `embedded broker listening on ${handle.tcpAddress} (TCP) and ${handle.httpAddress} (HTTP), replacing the one that stopped`,
        );
        return await this.use(started, previous, undefined);
      } catch (error) {
        if (!isTaken(error)) throw error;
      }
      // Locked or taken: the stopped broker still persisting, or another orphan that won.
      const winner = await probeRunningBroker(this.params.brokerHttpAddress);
      if (winner !== undefined) return this.use(joinedBroker(winner, this.params.brokerHttpAddress), previous, 'joined the broker another worker started in its place');
      await new Promise((resolveWait) => setTimeout(resolveWait, waitMs));
    }
  }

  private async use(next: EmbeddedBroker, previous: EmbeddedBroker, how: string | undefined): Promise<void> {
    this.broker = next;
    if (how !== undefined) {
      this.params.logger.info({ tcpAddress: next.tcpAddress, httpAddress: next.httpAddress }, `the embedded broker at ${previous.tcpAddress} stopped: ${how}, at ${next.tcpAddress}`);
    }
    await this.params.onBroker(next, previous);
  }
}

/** What the watch moves from one broker to the next: the tasks' consumers and their channels. */
export interface WatchedWorker {
  readonly consumers: ReadonlyArray<{
    on(event: 'disconnected', listener: (address: string) => void): unknown;
    addNsqdAddress(address: string): void;
    removeNsqdAddress(address: string): Promise<void>;
  }>;
  /** Creates the task channels on a broker (embedded.ts createTaskChannels). */
  createChannels(broker: EmbeddedBroker): Promise<void>;
}

/**
 * Watches a joined broker for the bound worker: every dropped connection is a reason to check, and
 * a replacement broker gets the task channels and the consumers (a new address, or the same one
 * reconnected at once rather than after the reconnect backoff).
 */
export function watchJoinedBroker(
  worker: WatchedWorker,
  params: Omit<TakeoverParams, 'onBroker'>,
): JoinedBrokerWatch {
  const watch = new JoinedBrokerWatch({
    ...params,
    onBroker: async (next, previous) => {
      // The next broker holds the stopped one's messages (its data path): a redelivery is known by its id.
      carryIdScope(next.tcpAddress, previous.tcpAddress);
      await worker.createChannels(next);
      for (const consumer of worker.consumers) {
        await consumer.removeNsqdAddress(previous.tcpAddress);
        consumer.addNsqdAddress(next.tcpAddress);
      }
    },
  });
  for (const consumer of worker.consumers) consumer.on('disconnected', () => watch.suspect());
  return watch;
}

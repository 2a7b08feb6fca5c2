/**
 * The embedded default: with no nsqd or lookupd configured, the runner starts the bundled broker in
 * its own process on 127.0.0.1 (never all interfaces by default) with a persistent data path. If an
 * NSQ broker already listens there (a second worker started beside the first), it uses that one and
 * says so, instead of failing.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';
import { DATA_PATH_NOT_A_FOLDER, DataPathLockedError } from '../../broker/nsqd/data-lock.ts';
import { joinHostPort, parseHostPort } from '../../protocol/address.ts';
import { NsqdHttp } from './nsqd-http.ts';
import { ensureTaskChannels, logChannelsOutcome } from './task-channels.ts';
import { channelEntries, warnTaskChannels } from './task-channel-warnings.ts';
import { pauseMarkerChannel } from '../config/run-names.ts';
import type { TlsOption } from '../../client/options.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import type { ValueOrigin } from '../config/layered-values.ts';
import type { ListenFlag } from './address-in-use.ts';

export interface EmbeddedBroker {
  tcpAddress: string;
  httpAddress: string;
  /** The broker this process started, or undefined when it joined one that was already running. */
  handle: BrokerHandle | undefined;
  /** For a joined broker: which one it is (its start time) and the data path it says it uses. */
  joined?: RunningBroker;
  close(): Promise<void>;
}

/** A broker found answering at an HTTP address. */
export interface RunningBroker {
  tcpAddress: string;
  /** `/info` start_time, unix seconds: tells a restarted broker from the one joined. */
  startTime: number | undefined;
  /** `/config/data_path`, when the broker tells it. */
  dataPath: string | undefined;
}

/** Asks the HTTP address whether an nsqd answers there: its TCP address, start time and data path. */
export async function probeRunningBroker(httpAddress: string): Promise<RunningBroker | undefined> {
  const http = new NsqdHttp(httpAddress, 2000);
  try {
    const info = await http.info();
    if (info.tcpPort === undefined || info.version === undefined) return undefined;
    const dataPath = await http.configText('data_path').catch(() => undefined);
    return { tcpAddress: joinHostPort(parseHostPort(httpAddress).host, info.tcpPort), startTime: info.startTime, dataPath: dataPath || undefined };
  } catch {
    return undefined;
  }
}

/**
 * How the user gave each of the embedded broker's settings, for the lines that tell them to change
 * one: the flag (`--data-path`), or the variable or config key the value came from
 * (`NSQWORKER_DATA_PATH`, `nsqworker.config.ts dataPath`). `origins`: the run's (layered-values.ts).
 */
export interface BrokerSettingNames {
  tcpAddress: string;
  httpAddress: string;
  dataPath: string;
}

export function brokerSettingNames(origins: ReadonlyMap<string, ValueOrigin>): BrokerSettingNames {
  const named = (key: string, flag: string): string => {
    const origin = origins.get(key);
    return origin !== undefined && (origin.kind === 'env' || origin.kind === 'config') ? origin.where : flag;
  };
  return { tcpAddress: named('brokerTcpAddress', '--broker-tcp-address'), httpAddress: named('brokerHttpAddress', '--broker-http-address'), dataPath: named('dataPath', '--data-path') };
}

/** The addresses the embedded broker listens on, named for address-in-use.ts. */
export function embeddedListens(names: BrokerSettingNames, tcpAddress: string, httpAddress: string): ListenFlag[] {
  return [
    { flag: names.tcpAddress, address: tcpAddress },
    { flag: names.httpAddress, address: httpAddress },
  ];
}

/** Starts the embedded broker, or joins one already running at its HTTP address. Throws RunnerError when the data path is held by a broker elsewhere or cannot be a folder. */
export async function startEmbeddedBroker(params: {
  tcpAddress: string;
  httpAddress: string;
  dataPath: string;
  /** Default: the flags. */
  names?: BrokerSettingNames;
  logger: Logger;
}): Promise<EmbeddedBroker> {
  const { logger } = params;
  const names = params.names ?? brokerSettingNames(new Map());
  // Absolute, so a worker that joins this broker from another folder can tell whether its own
  // --data-path is this one (embedded-takeover.ts).
  const dataPath = resolve(params.dataPath);
  try {
    const handle = await startBroker({
      tcpAddress: params.tcpAddress,
      httpAddress: params.httpAddress,
      dataPath,
      broadcastAddress: parseHostPort(params.tcpAddress).host || '127.0.0.1',
      logger: logger.child({ component: 'broker' }),
    });
    logger.info(
      { tcpAddress: handle.tcpAddress, httpAddress: handle.httpAddress, dataPath },
      `embedded broker listening on ${handle.tcpAddress} (TCP) and ${handle.httpAddress} (HTTP)`,
    );
    return { tcpAddress: handle.tcpAddress, httpAddress: handle.httpAddress, handle, close: () => handle.close() };
  } catch (error) {
    // Taken ports, or our data path locked by a running broker: perhaps a sibling worker's broker.
    const code = (error as NodeJS.ErrnoException).code;
    // A data path that cannot be a folder (a file is there): the setting's to change, exit 2.
    if (code === 'E_DATA_PATH_LOCK_FAILED' && (error as Error).message.endsWith(DATA_PATH_NOT_A_FOLDER)) {
      throw new RunnerError(RunnerErrorCode.Usage, `${names.dataPath} ${params.dataPath}: ${DATA_PATH_NOT_A_FOLDER}`, { cause: error });
    }
    if (code !== 'EADDRINUSE' && code !== 'E_DATA_PATH_LOCKED') throw error;
    const running = await probeRunningBroker(params.httpAddress);
    if (running === undefined && error instanceof DataPathLockedError) {
      // Its broker listens elsewhere: a worker joins one only at its own --broker-http-address.
      const pid = error.ownerPid;
      const find = pid === undefined ? '' : ` (its command line: ps -o args -p ${pid})`;
      const how = `give that broker's ${names.tcpAddress} and ${names.httpAddress} to use it${find}, or another ${names.dataPath}`;
      throw new RunnerError(RunnerErrorCode.DataPathInUse, `${names.dataPath} ${params.dataPath}: ${error.message}, not at ${names.httpAddress} ${params.httpAddress}: ${how}`, { cause: error });
    }
    if (running === undefined) throw error;
    const fields = { tcpAddress: running.tcpAddress, httpAddress: params.httpAddress, dataPath: running.dataPath };
    // Another folder's broker (or one given another --data-path) keeps the messages where it was told to.
    // Compared only when absolute: a relative one is the other process's, from a folder not known here.
    if (running.dataPath !== undefined && isAbsolute(running.dataPath) && running.dataPath !== dataPath) {
      logger.warn({ ...fields, ownDataPath: dataPath }, `an NSQ broker is already running at ${running.tcpAddress}: using it; it keeps its messages in ${running.dataPath}, not in this worker's --data-path ${dataPath}`);
    } else {
      logger.info(fields, `an NSQ broker is already running at ${running.tcpAddress}: using it`);
    }
    // Found at the HTTP address given, it says where its TCP port is: a TCP address given that is
    // another (half of the advice above followed) is not used, and said so, not passed over.
    const givenPort = parseHostPort(params.tcpAddress).port;
    if (givenPort !== 0 && givenPort !== parseHostPort(running.tcpAddress).port) {
      logger.warn({ ...fields, given: params.tcpAddress }, `${names.tcpAddress} ${params.tcpAddress} is not that broker's: it takes TCP connections at ${running.tcpAddress}, where this worker connects instead`);
    }
    return joinedBroker(running, params.httpAddress);
  }
}

/** A broker this process uses but did not start: closing it is someone else's business. */
export function joinedBroker(running: RunningBroker, httpAddress: string): EmbeddedBroker {
  return { tcpAddress: running.tcpAddress, httpAddress, handle: undefined, joined: running, close: async () => {} };
}

/**
 * Creates every task channel of the worker before any task subscribes. A topic keeps its messages
 * until its first channel appears, then hands them all to that channel: a backlog published before
 * a worker's first start would go to whichever task subscribed first, and its other tasks would
 * never see it. On a broker this process started, directly (no message can slip in between); on
 * one it joined, through nsqd's HTTP API with the topic paused meanwhile (task-channels.ts).
 */
export async function createTaskChannels(
  broker: EmbeddedBroker,
  names: { topic: string; workerChannel: string; channels: readonly string[] },
  log: Logger,
  tls?: TlsOption,
): Promise<void> {
  const { topic, workerChannel, channels } = names;
  if (broker.handle !== undefined) {
    const created = broker.handle.nsqd.getOrCreateTopic(topic);
    for (const channel of channels) created.getOrCreateChannel(channel);
    warnTaskChannels(topic, channelEntries(created), workerChannel, channels, new NsqdHttp(broker.httpAddress).baseUrl, log);
    // A pause an earlier run left behind (its marker says so; the data path kept both): finished
    // over HTTP, as on any nsqd, so the unpause is persisted as an operator's would be.
    if (created.getChannel(pauseMarkerChannel(workerChannel)) === undefined) return;
  }
  const http = new NsqdHttp(broker.httpAddress, 5000, tls);
  const outcome = await ensureTaskChannels(http, topic, channels, workerChannel);
  logChannelsOutcome(log, topic, broker.httpAddress, outcome);
  // A joined broker (another run's): its channels are known from its /stats only.
  if (broker.handle === undefined) warnTaskChannels(topic, outcome.before.values(), workerChannel, channels, http.baseUrl, log);
}

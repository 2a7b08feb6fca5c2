/**
 * The first step of a run: where the worker connects. Remote nsqd and lookupd (endpoints.ts), or a
 * broker in this process, shared by dev's workers or started for this one, with the task channels
 * created on it before anything subscribes.
 */
import type { Logger } from 'pino';
import type { NsqdNodeInfo } from '../../client/consumer.ts';
import { clientSecurity } from '../config/client-security.ts';
import { channelForTask } from '../config/run-names.ts';
import type { RunPlan } from '../run-plan.ts';
import { listenOrExplain } from './address-in-use.ts';
import type { Endpoints } from './bind.ts';
import { brokerSettingNames, createTaskChannels, embeddedListens, startEmbeddedBroker, type EmbeddedBroker } from './embedded.ts';
import { httpAddressResolver, remoteEndpoints } from './endpoints.ts';
import { TaskChannelGate } from './task-channels.ts';

export interface Connected {
  endpoints: Endpoints;
  started: EmbeddedBroker | undefined;
  /** Readies an nsqd for the tasks before they subscribe there (remote nsqd: their channels). */
  prepareNsqd: ((nsqd: NsqdNodeInfo, channels: readonly string[]) => Promise<void>) | undefined;
  /** Where each nsqd's HTTP API is, for the channel of a task removed on reload. */
  httpAddressOf(nsqdTcpAddress: string): Promise<string | undefined>;
  /** The embedded broker's HTTP address: an added task's channel is created there at once. */
  embeddedHttpAddress?: string;
}

/**
 * Where the worker connects: remote nsqd/lookupd, a shared broker, or an embedded one it starts.
 * Resolves to undefined when `stopWaiting` aborted the wait for lookupd's first nsqd (remoteEndpoints).
 */
export async function connectEndpoints(plan: RunPlan, logger: Logger, shared: EmbeddedBroker | undefined, stopWaiting?: AbortSignal): Promise<Connected | undefined> {
  const { settings, runtime } = plan;
  if (shared === undefined && (settings.nsqdTcpAddresses.length > 0 || settings.lookupdHttpAddresses.length > 0)) {
    const topic = settings.topicPrefix + settings.topic;
    const { tls } = clientSecurity(settings);
    const gate = new TaskChannelGate(topic, settings.channel, httpAddressResolver(settings, tls), logger.child({ topic }), tls);
    const endpoints = await remoteEndpoints(settings, logger, stopWaiting);
    return endpoints === undefined ? undefined : { endpoints, started: undefined, prepareNsqd: gate.prepare, httpAddressOf: gate.httpAddressOf };
  }
  // The lines that say to change one name it as the user gave it: flag, variable or config key.
  const names = brokerSettingNames(plan.origins);
  const broker =
    shared ??
    (await listenOrExplain(embeddedListens(names, settings.brokerTcpAddress, settings.brokerHttpAddress), () =>
      startEmbeddedBroker({
        tcpAddress: settings.brokerTcpAddress,
        httpAddress: settings.brokerHttpAddress,
        dataPath: settings.dataPath,
        names,
        logger,
      }),
    ));
  try {
    const { taskNames } = runtime;
    const channels = taskNames.map((task) => channelForTask(settings.channel, task, taskNames.length));
    await createTaskChannels(broker, { topic: settings.topicPrefix + settings.topic, workerChannel: settings.channel, channels }, logger, clientSecurity(settings).tls);
  } catch (error) {
    if (shared === undefined) await broker.close();
    throw error;
  }
  // A joined broker may be replaced by one on this worker's own TCP address: publishing fails over to it.
  const own = settings.brokerTcpAddress;
  const publishAddresses = broker.joined !== undefined && own !== broker.tcpAddress && !own.endsWith(':0') ? [broker.tcpAddress, own] : [broker.tcpAddress];
  const endpoints = { nsqdTcpAddresses: [broker.tcpAddress], lookupdHttpAddresses: [], publishAddresses };
  const httpAddressOf = async (): Promise<string> => broker.httpAddress;
  return { endpoints, started: shared === undefined ? broker : undefined, prepareNsqd: undefined, httpAddressOf, embeddedHttpAddress: broker.httpAddress };
}

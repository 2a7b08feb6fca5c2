/**
 * A reload that changes a worker's set of tasks: which task channels go and which come, and what
 * happens to a channel no task consumes any more. nsqd copies every message of a topic into each of
 * its channels, so a channel left behind keeps a copy of every message forever: it is not deleted
 * behind the operator's back in production (its backlog may still be wanted), but named, with the
 * call that deletes it; under `dev` it is deleted.
 */
import type { Logger } from 'pino';
import { channelForTask } from '../config/run-names.ts';
import { channelCurl, NsqdHttp, NsqdHttpError, type ChannelEntry } from './nsqd-http.ts';

export interface TaskChannelChange {
  /**
   * Tasks no longer consuming their channel: removed, or moved to the channel `movedTo`. `kept`: the
   * channel itself stays, another task of `next` consuming it (a single task renamed: `C` is its
   * channel whatever its name), so nothing of it is retired.
   */
  removed: Array<{ task: string; channel: string; movedTo?: string; kept?: true }>;
  /** Tasks to start consuming: new, or moved from the channel `movedFrom`. */
  added: Array<{ task: string; channel: string; movedFrom?: string }>;
}

/**
 * The change from the current task → channel map to `next` tasks. Going from one task to several
 * renames every channel (`C` becomes `C.<task>`), so a kept task can move too.
 */
export function diffTaskChannels(current: ReadonlyMap<string, string>, next: readonly string[], channel: string): TaskChannelChange {
  const nextChannels = new Map(next.map((task) => [task, channelForTask(channel, task, next.length)]));
  const stay = new Set(nextChannels.values());
  const removed: TaskChannelChange['removed'] = [];
  for (const [task, name] of current) {
    const movedTo = nextChannels.get(task);
    if (movedTo === name) continue;
    removed.push({ task, channel: name, ...(movedTo === undefined ? {} : { movedTo }), ...(stay.has(name) ? { kept: true as const } : {}) });
  }
  const added: TaskChannelChange['added'] = [];
  for (const [task, name] of nextChannels) {
    const movedFrom = current.get(task);
    if (movedFrom === name) continue;
    added.push(movedFrom === undefined ? { task, channel: name } : { task, channel: name, movedFrom });
  }
  return { removed, added };
}

export interface ChannelCleanup {
  /** Where an nsqd's HTTP API is (the embedded broker's, --nsqd-http-address, lookupd's http_port), or undefined when not known. */
  httpAddressOf(nsqdTcpAddress: string): Promise<string | undefined>;
  /** The embedded broker's HTTP address, where an added task's channel is created at once (elsewhere its subscription does it). */
  createAt: string | undefined;
  /** Delete the channel (under `dev`), rather than only say how. */
  deleteRemoved: boolean;
}

/**
 * Creates an added task's channel as soon as its code has loaded, on the embedded broker, so it
 * holds every message published from then on; its consumer subscribes once the new code is in. On
 * remote nsqd the subscription creates it (task-channels.ts). Never throws: the subscription still will.
 */
export async function createTaskChannel(topic: string, channel: string, cleanup: ChannelCleanup, log: Logger): Promise<void> {
  if (cleanup.createAt === undefined) return;
  try {
    await new NsqdHttp(cleanup.createAt).post(`/channel/create?topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}`);
  } catch (error) {
    log.warn({ err: error }, `creating channel ${channel} failed; its consumer will create it`);
  }
}

/** Deletes the channel on one nsqd; whether it is gone (a 404 is: someone deleted it first). Never throws. */
async function deleteChannel(http: NsqdHttp, query: string, channel: string, log: Logger): Promise<boolean> {
  try {
    await http.post(`/channel/delete?${query}`);
    return true;
  } catch (error) {
    if (error instanceof NsqdHttpError && error.status === 404) return true;
    log.warn({ err: error }, `deleting channel ${channel} failed`);
    return false;
  }
}

/** What the channel holds on one nsqd (its /stats); undefined when that cannot be told. */
async function messagesHeld(http: NsqdHttp, topic: string, channel: string): Promise<ChannelEntry | undefined> {
  return (await http.topicState(topic).catch(() => undefined))?.channels.get(channel);
}

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** "1 message waiting, 2 deferred (retries among them) and 0 in flight". */
function heldWords(held: { depth: number; deferred: number; inFlight: number }): string {
  return `${count(held.depth, 'message', 'messages')} waiting, ${held.deferred} deferred (retries among them) and ${held.inFlight} in flight`;
}

/**
 * For a task moved to another channel: the new one was made on the embedded broker when the new code
 * loaded (createTaskChannel), before the old one went, so it holds a copy of what was published since.
 */
function copiesKept(removed: TaskChannelChange['removed'][number]): string {
  if (removed.movedTo === undefined) return '';
  return `; ${removed.movedTo} has a copy of each message published since the new code loaded, so only older ones are not handled by task ${removed.task}`;
}

/**
 * Deletes a channel no task consumes any more, or warns with the call that would, on each nsqd the
 * task's consumer knew (`nsqds`, TCP addresses), by its real HTTP address where known and in so many
 * words where not. Never throws.
 */
export async function retireChannel(
  topic: string,
  removed: TaskChannelChange['removed'][number],
  nsqds: readonly string[],
  cleanup: ChannelCleanup,
  log: Logger,
): Promise<void> {
  const query = `topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(removed.channel)}`;
  // A task that moved (one task to several, or back) still runs: its old channel is what goes.
  const lead = removed.movedTo === undefined ? `task ${removed.task} removed: its channel` : `task ${removed.task} moved to channel ${removed.movedTo}: its old channel`;
  const targets = await Promise.all(nsqds.map(async (tcp) => ({ tcp, http: await cleanup.httpAddressOf(tcp).catch(() => undefined) })));
  let left = targets;
  if (cleanup.deleteRemoved) {
    const https = targets.map((t) => (t.http === undefined ? undefined : new NsqdHttp(t.http)));
    const held = await Promise.all(https.map((http) => (http === undefined ? undefined : messagesHeld(http, topic, removed.channel))));
    const deleted = await Promise.all(https.map((http) => http !== undefined && deleteChannel(http, query, removed.channel, log)));
    left = targets.filter((_, i) => !deleted[i]);
    if (targets.length > 0 && left.length === 0) {
      const lost = { depth: 0, deferred: 0, inFlight: 0 };
      for (const counts of held) {
        lost.depth += counts?.depth ?? 0;
        lost.deferred += counts?.deferred ?? 0;
        lost.inFlight += counts?.inFlight ?? 0;
      }
      const fields = { task: removed.task, channel: removed.channel, ...lost };
      if (lost.depth + lost.deferred + lost.inFlight === 0) log.info(fields, `${lead} ${removed.channel} deleted`);
      // Under dev, a task renamed or moved (one task to several) loses its channel's retries with it: say so.
      else log.warn(fields, `${lead} ${removed.channel} deleted with ${heldWords(lost)}${cleanup.createAt === undefined ? '' : copiesKept(removed)}`);
      return;
    }
  }
  const known = left.filter((t) => t.http !== undefined).map((t) => channelCurl(new NsqdHttp(t.http!).baseUrl, 'delete', topic, removed.channel));
  const unknown = left.filter((t) => t.http === undefined).map((t) => t.tcp);
  const how = [
    ...(known.length === 0 ? [] : [`delete it with: ${known.join(' and ')}`]),
    ...(unknown.length === 0
      ? []
      : [`on nsqd ${unknown.join(', ')} its HTTP address is not known (give --nsqd-http-address): POST /channel/delete?${query} to its HTTP API`]),
  ];
  if (how.length === 0) how.push(`no nsqd known to this worker has it; where one does, POST /channel/delete?${query} to its HTTP API`);
  log.warn(
    { task: removed.task, channel: removed.channel, nsqd: nsqds },
    `${lead} ${removed.channel} stays and keeps a copy of every message published to ${topic}; ${how.join('; ')}`,
  );
}

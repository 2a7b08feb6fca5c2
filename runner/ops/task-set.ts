/**
 * A reload that changes a worker's set of tasks: which task channels go and which come, and what
 * happens to a channel no task consumes any more. nsqd copies every message of a topic into each of
 * its channels, so a channel left behind keeps a copy of every message forever: it is not deleted
 * behind the operator's back in production (its backlog may still be wanted), but named, with the
 * call that deletes it; under `dev` it is deleted.
 */
import type { Logger } from 'pino';
import { channelForTask } from '../config/run-names.ts';

export interface TaskChannelChange {
  /** Tasks whose channel is no longer consumed (removed, or moved to another channel name). */
  removed: Array<{ task: string; channel: string }>;
  /** Tasks (new, or moved) to start consuming. */
  added: Array<{ task: string; channel: string }>;
}

/**
 * The change from the current task → channel map to `next` tasks. Going from one task to several
 * renames every channel (`C` becomes `C.<task>`), so a kept task can move too.
 */
export function diffTaskChannels(current: ReadonlyMap<string, string>, next: readonly string[], channel: string): TaskChannelChange {
  const nextChannels = new Map(next.map((task) => [task, channelForTask(channel, task, next.length)]));
  return {
    removed: [...current].filter(([task, name]) => nextChannels.get(task) !== name).map(([task, name]) => ({ task, channel: name })),
    added: [...nextChannels].filter(([task, name]) => current.get(task) !== name).map(([task, name]) => ({ task, channel: name })),
  };
}

export interface ChannelCleanup {
  /** An nsqd HTTP address the worker knows (the embedded broker's), for the delete call. */
  httpAddress: string | undefined;
  /** Delete the channel (under `dev`), rather than only say how. */
  deleteRemoved: boolean;
}

/**
 * Creates an added task's channel as soon as its code has loaded, where an nsqd HTTP address is
 * known, so it holds every message published from then on; its consumer subscribes once the new
 * code is in. Elsewhere the subscription creates it. Never throws: the subscription still will.
 */
export async function createTaskChannel(topic: string, channel: string, cleanup: ChannelCleanup, log: Logger): Promise<void> {
  if (cleanup.httpAddress === undefined) return;
  const url = `http://${cleanup.httpAddress}/channel/create?topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}`;
  try {
    const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(5000) });
    if (!response.ok) log.warn({ status: response.status }, `creating channel ${channel} answered ${response.status}; its consumer will create it`);
  } catch (error) {
    log.warn({ err: error }, `creating channel ${channel} failed; its consumer will create it`);
  }
}

/** Deletes a channel no task consumes any more, or warns with the call that would. Never throws. */
export async function retireChannel(topic: string, removed: { task: string; channel: string }, cleanup: ChannelCleanup, log: Logger): Promise<void> {
  const query = `topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(removed.channel)}`;
  const base = cleanup.httpAddress === undefined ? 'http://<nsqd-http-address>' : `http://${cleanup.httpAddress}`;
  if (cleanup.deleteRemoved && cleanup.httpAddress !== undefined) {
    try {
      const response = await fetch(`${base}/channel/delete?${query}`, { method: 'POST', signal: AbortSignal.timeout(5000) });
      if (response.ok || response.status === 404) {
        log.info({ task: removed.task, channel: removed.channel }, `task ${removed.task} removed: its channel ${removed.channel} deleted`);
        return;
      }
      log.warn({ status: response.status }, `deleting channel ${removed.channel} answered ${response.status}`);
    } catch (error) {
      log.warn({ err: error }, `deleting channel ${removed.channel} failed`);
    }
  }
  log.warn(
    { task: removed.task, channel: removed.channel },
    `task ${removed.task} removed: its channel ${removed.channel} stays and keeps a copy of every message published to ${topic}; ` +
      `delete it on each nsqd with: curl -X POST '${base}/channel/delete?${query}'`,
  );
}

/**
 * `nsqworker stats`, after NSQ's nsq_stat: polls one channel on every nsqd (given, or found through
 * lookupd) every interval and prints its table. A worker's channel, whose tasks consume
 * `<channel>.<task>`, shows a row per task channel. A channel that no nsqd has stops it with an error,
 * on the first poll or any later one, as nsq_stat does.
 */
import type { Writable } from 'node:stream';
import type { TlsOption } from '../../client/options.ts';
import { ToolError, ToolErrorCode } from './errors.ts';
import { fetchChannelTotals, fetchTopicChannelTotals, lookupTopicProducers, type HttpTimeouts } from './stats-source.ts';
import { StatsTable } from './stats-table.ts';
import { TaskChannelsTable, taskChannelsOf } from './task-channels-table.ts';
import { didYouMean } from '../../protocol/suggest.ts';

export interface StatsOptions {
  topic: string;
  channel: string;
  /** nsqd HTTP addresses to poll; ignored when lookupd addresses are given. */
  nsqdHttpAddresses: string[];
  lookupdHttpAddresses: string[];
  intervalMs: number;
  /** Reports before stopping (nsq_stat's --count); undefined polls until the signal aborts. */
  count: number | undefined;
  timeouts: HttpTimeouts;
  output: Writable;
  signal: AbortSignal;
  /** TLS for https addresses and for an nsqd that redirects plain HTTP to HTTPS. */
  tls?: TlsOption;
}

/** Resolves after the last poll (or when the signal aborts); rejects with a {@link ToolError}. */
export async function runStats(options: StatsOptions): Promise<void> {
  const table = new StatsTable();
  const taskTable = new TaskChannelsTable();
  const { signal } = options;
  let nextPollAt = Date.now();
  for (let poll = 0; options.count === undefined || poll < options.count; poll++) {
    if (poll > 0) {
      nextPollAt += options.intervalMs;
      // A poll that overran the interval does not cause a burst of catch-up polls.
      if (nextPollAt < Date.now()) nextPollAt = Date.now();
      await sleepUntil(nextPollAt, signal);
    }
    if (signal.aborted) return;
    let text: string | undefined;
    // The topic's channels, for a name a typo away (and the worker channels their task channels name).
    let channels: string[] = [];
    try {
      const addresses =
        options.lookupdHttpAddresses.length > 0
          ? await lookupTopicProducers(options.lookupdHttpAddresses, options.topic, options.timeouts, signal, options.tls)
          : options.nsqdHttpAddresses;
      const totals = await fetchChannelTotals(addresses, options.topic, options.channel, options.timeouts, signal, options.tls);
      if (totals !== undefined) text = table.render(totals);
      else {
        // A worker's channel: its tasks consume <channel>.<task>; show each of them.
        const all = await fetchTopicChannelTotals(addresses, options.topic, options.timeouts, signal, options.tls);
        channels = [...all.keys()].flatMap((name) => [name, name.split('.')[0]!]);
        const tasks = taskChannelsOf(all.keys(), options.channel);
        if (tasks.length > 0) text = taskTable.render(all, tasks);
      }
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    if (text === undefined) {
      throw new ToolError(
        ToolErrorCode.ChannelNotFound,
        `failed to find channel(${options.channel}) in stats metadata for topic(${options.topic}), nor a worker's task channel ${options.channel}.<task>${didYouMean(options.channel, [...new Set(channels)], '--channel ')}`,
      );
    }
    options.output.write(text);
  }
}

function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const wake = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, Math.max(0, at - Date.now()));
    signal.addEventListener('abort', wake);
  });
}

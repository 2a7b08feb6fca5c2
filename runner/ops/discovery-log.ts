/**
 * What lookupd discovery found and what it waits for, said once per change rather than once per
 * poll: "found 2 nsqd for topic log", "no nsqd has topic log yet; asking lookupd every 5s until one
 * has (then every 1m0s)", and a lookupd that stops (or starts again) answering.
 *
 * While no nsqd has the topic, lookupd is asked every 5 s (the interval when shorter): a worker
 * started before its topic's first publish would otherwise wait up to go-nsq's minute for it, with
 * nothing else to do. Once an nsqd has it, the interval applies again.
 */
import type { Logger } from 'pino';
import type { LookupdDiscovery } from '../../client/lookupd-discovery.ts';
import { formatDurationMs } from '../../protocol/duration.ts';

/** How often lookupd is asked while no nsqd has the topic, in ms (the poll interval when shorter). */
const EMPTY_POLL_MS = 5000;

export function logDiscovery(discovery: LookupdDiscovery, log: Logger): void {
  const { topic, lookupdPollIntervalMs } = discovery.options;
  const emptyPollMs = Math.min(EMPTY_POLL_MS, lookupdPollIntervalMs);
  let said: string | undefined;
  let askAgain: NodeJS.Timeout | undefined;
  const failing = new Map<string, string>();
  discovery.on('result', (result) => {
    clearTimeout(askAgain);
    // Unref'd: a stopped worker's process exits, and a stopped discovery ignores pollSoon.
    if (result.producers.length === 0 && emptyPollMs < lookupdPollIntervalMs) askAgain = setTimeout(() => discovery.pollSoon(), emptyPollMs).unref();
    const key = result.producers.join(',');
    if (key === said) return;
    said = key;
    if (result.producers.length === 0) {
      const every = emptyPollMs < lookupdPollIntervalMs ? `${formatDurationMs(emptyPollMs)} until one has (then every ${formatDurationMs(lookupdPollIntervalMs)})` : formatDurationMs(lookupdPollIntervalMs);
      log.info({ lookupd: discovery.options.lookupdHttpAddresses }, `no nsqd has topic ${topic} yet; asking lookupd every ${every}`);
    } else {
      log.info({ nsqd: result.producers }, `found ${result.producers.length} nsqd for topic ${topic}: ${result.producers.join(', ')}`);
    }
    // Every lookupd that answered this time is fine again.
    if (result.complete && failing.size > 0) {
      log.info({ lookupd: [...failing.keys()] }, 'lookupd answering again');
      failing.clear();
    }
  });
  discovery.on('error', (error) => {
    const url = error.url;
    if (failing.get(url) === error.message) return;
    failing.set(url, error.message);
    log.warn({ lookupd: url }, `${error.message}; polling again in ${formatDurationMs(lookupdPollIntervalMs)}`);
  });
}

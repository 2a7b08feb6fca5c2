/**
 * What lookupd discovery found and what it waits for, said once per change rather than once per
 * poll: "found 2 nsqd for topic log", "no nsqd has topic log yet; polling lookupd every 60s", and a
 * lookupd that stops (or starts again) answering.
 */
import type { Logger } from 'pino';
import type { LookupdDiscovery } from '../../client/lookupd-discovery.ts';
import { formatDurationMs } from '../../protocol/duration.ts';

export function logDiscovery(discovery: LookupdDiscovery, log: Logger): void {
  const { topic, lookupdPollIntervalMs } = discovery.options;
  let said: string | undefined;
  const failing = new Map<string, string>();
  discovery.on('result', (result) => {
    const key = result.producers.join(',');
    if (key === said) return;
    said = key;
    if (result.producers.length === 0) {
      log.info({ lookupd: discovery.options.lookupdHttpAddresses }, `no nsqd has topic ${topic} yet; polling lookupd every ${formatDurationMs(lookupdPollIntervalMs)}`);
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

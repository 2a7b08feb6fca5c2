/**
 * `/debug`: every key with producers, as `{"<category>:<key>:<subkey>":[entry...]}`. nsqlookupd
 * builds Go maps, so keys come out sorted, both outer and inside each entry, and times are int64
 * nanoseconds, beyond what a JS number holds exactly: the JSON is written by hand with BigInt.
 */
import { goJson } from '../http-v1.ts';
import type { Producer, RegistrationDb } from './registry.ts';

const NS_PER_MS = 1_000_000n;
/** `time.Time{}.UnixNano()`: what nsqlookupd reports as `tombstoned_at` for a producer never tombstoned. */
const GO_ZERO_TIME_UNIX_NANO = '-6795364578871345152';

const nanoseconds = (ms: number): string => (BigInt(Math.round(ms)) * NS_PER_MS).toString();

function entryJson(producer: Producer): string {
  const { peer } = producer;
  return (
    `{"broadcast_address":${goJson(peer.broadcastAddress)},` +
    `"hostname":${goJson(peer.hostname)},` +
    `"http_port":${peer.httpPort},` +
    `"id":${goJson(peer.id)},` +
    `"last_update":${nanoseconds(peer.lastUpdateMs)},` +
    `"tcp_port":${peer.tcpPort},` +
    `"tombstoned":${producer.tombstoned},` +
    `"tombstoned_at":${producer.tombstonedAtMs === undefined ? GO_ZERO_TIME_UNIX_NANO : nanoseconds(producer.tombstonedAtMs)},` +
    `"version":${goJson(peer.version)}}`
  );
}

export function debugJson(db: RegistrationDb): string {
  const groups = new Map<string, string[]>();
  for (const { registration, producers } of db.allEntries()) {
    const key = `${registration.category}:${registration.key}:${registration.subKey}`;
    for (const producer of producers) {
      const list = groups.get(key);
      if (list === undefined) groups.set(key, [entryJson(producer)]);
      else list.push(entryJson(producer));
    }
  }
  const keys = [...groups.keys()].sort();
  return `{${keys.map((key) => `${goJson(key)}:[${groups.get(key)!.join(',')}]`).join(',')}}`;
}

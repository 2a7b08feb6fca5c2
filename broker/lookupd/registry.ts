/**
 * nsqlookupd's registration database: keys `(category, key, subkey)` — `("client","","")` for every
 * identified nsqd, `("topic",t,"")`, `("channel",t,c)` — each holding the producers registered under
 * it. A producer entry is per key (so a tombstone marks one topic of one node) and points at the
 * peer's shared {@link PeerInfo}, whose `lastUpdateMs` is refreshed by IDENTIFY and PING.
 *
 * Empty keys are kept, as nsqlookupd keeps them: a topic stays listed after its last producer leaves.
 * Liveness and tombstones are judged when someone asks (no timer per producer).
 */

export type Category = 'client' | 'topic' | 'channel';

export interface Registration {
  readonly category: Category;
  readonly key: string;
  readonly subKey: string;
}

/** What an nsqd told about itself in IDENTIFY, plus what the lookupd knows of the connection. */
export interface PeerInfo {
  /** The connection's `ip:port`: a reconnecting nsqd is a new peer. */
  readonly id: string;
  readonly remoteAddress: string;
  readonly hostname: string;
  readonly broadcastAddress: string;
  readonly tcpPort: number;
  readonly httpPort: number;
  readonly version: string;
  /** Wall-clock ms of the last IDENTIFY or PING. */
  lastUpdateMs: number;
}

export interface Producer {
  readonly peer: PeerInfo;
  tombstoned: boolean;
  /** Wall-clock ms of the tombstone; undefined until tombstoned (Go's zero time). */
  tombstonedAtMs: number | undefined;
}

/** Matches any key or subkey in a find, as nsqlookupd's `*`. */
export const WILDCARD = '*';

interface Entry {
  readonly registration: Registration;
  readonly producers: Map<string, Producer>;
}

// Names never contain NUL (names are validated before a key is created), so the joined key is unique.
const mapKey = (category: string, key: string, subKey: string): string => `${category}\0${key}\0${subKey}`;

const matches = (r: Registration, category: Category, key: string, subKey: string): boolean =>
  r.category === category && (key === WILDCARD || r.key === key) && (subKey === WILDCARD || r.subKey === subKey);

export class RegistrationDb {
  private readonly entries = new Map<string, Entry>();
  /** Channel keys by topic: `/lookup` and `/channels` list one topic's channels without a full scan. */
  private readonly channelsByTopic = new Map<string, Map<string, Entry>>();

  /** Creates the key if it is missing (`/topic/create`, `/channel/create`). */
  addRegistration(registration: Registration): void {
    this.entry(registration);
  }

  /** Adds the peer under the key, creating the key. False if the peer was already there. */
  addProducer(registration: Registration, peer: PeerInfo): boolean {
    const { producers } = this.entry(registration);
    if (producers.has(peer.id)) return false;
    producers.set(peer.id, { peer, tombstoned: false, tombstonedAtMs: undefined });
    return true;
  }

  /** Removes the peer from the key, keeping the key. Returns whether it was there and how many are left. */
  removeProducer(registration: Registration, peerId: string): { removed: boolean; left: number } {
    const entry = this.entries.get(mapKey(registration.category, registration.key, registration.subKey));
    if (entry === undefined) return { removed: false, left: 0 };
    const removed = entry.producers.delete(peerId);
    return { removed, left: entry.producers.size };
  }

  /** Deletes the key and its producers. */
  removeRegistration(registration: Registration): void {
    if (!this.entries.delete(mapKey(registration.category, registration.key, registration.subKey))) return;
    if (registration.category !== 'channel') return;
    const channels = this.channelsByTopic.get(registration.key);
    channels?.delete(registration.subKey);
    if (channels?.size === 0) this.channelsByTopic.delete(registration.key);
  }

  /** Keys matching; `key` and `subKey` may be {@link WILDCARD}. */
  findRegistrations(category: Category, key: string, subKey: string): Registration[] {
    if (key !== WILDCARD && subKey !== WILDCARD) {
      const entry = this.entries.get(mapKey(category, key, subKey));
      return entry === undefined ? [] : [entry.registration];
    }
    const found: Registration[] = [];
    for (const { registration } of this.candidates(category, key)) {
      if (matches(registration, category, key, subKey)) found.push(registration);
    }
    return found;
  }

  /** Producers under the matching keys, one per peer (the first key found wins, as in nsqlookupd). */
  findProducers(category: Category, key: string, subKey: string): Producer[] {
    if (key !== WILDCARD && subKey !== WILDCARD) {
      const entry = this.entries.get(mapKey(category, key, subKey));
      return entry === undefined ? [] : [...entry.producers.values()];
    }
    const seen = new Set<string>();
    const found: Producer[] = [];
    for (const { registration, producers } of this.candidates(category, key)) {
      if (!matches(registration, category, key, subKey)) continue;
      for (const producer of producers.values()) {
        if (seen.has(producer.peer.id)) continue;
        seen.add(producer.peer.id);
        found.push(producer);
      }
    }
    return found;
  }

  /** Every key the peer is registered under. */
  lookupRegistrations(peerId: string): Registration[] {
    const found: Registration[] = [];
    for (const { registration, producers } of this.entries.values()) {
      if (producers.has(peerId)) found.push(registration);
    }
    return found;
  }

  /** Removes the peer from every key (its connection closed). The keys stay. */
  removePeer(peerId: string): Registration[] {
    const removed: Registration[] = [];
    for (const { registration, producers } of this.entries.values()) {
      if (producers.delete(peerId)) removed.push(registration);
    }
    return removed;
  }

  /** Every key with its producers, for `/debug`. */
  *allEntries(): IterableIterator<{ registration: Registration; producers: Iterable<Producer> }> {
    for (const { registration, producers } of this.entries.values()) yield { registration, producers: producers.values() };
  }

  /** The entries a wildcard find must look at: one topic's channels when it can, else all. */
  private candidates(category: Category, key: string): Iterable<Entry> {
    if (category !== 'channel' || key === WILDCARD) return this.entries.values();
    return this.channelsByTopic.get(key)?.values() ?? [];
  }

  private entry(registration: Registration): Entry {
    const id = mapKey(registration.category, registration.key, registration.subKey);
    let entry = this.entries.get(id);
    if (entry === undefined) {
      entry = { registration: { ...registration }, producers: new Map() };
      this.entries.set(id, entry);
      if (registration.category === 'channel') {
        let channels = this.channelsByTopic.get(registration.key);
        if (channels === undefined) {
          channels = new Map();
          this.channelsByTopic.set(registration.key, channels);
        }
        channels.set(registration.subKey, entry);
      }
    }
    return entry;
  }
}

/** A tombstone counts while younger than the lifetime (nsqlookupd's `IsTombstoned`). */
export function isTombstoned(producer: Producer, nowMs: number, tombstoneLifetimeMs: number): boolean {
  return producer.tombstoned && producer.tombstonedAtMs !== undefined && nowMs - producer.tombstonedAtMs < tombstoneLifetimeMs;
}

/** Marks a producer tombstoned now. */
export function tombstone(producer: Producer, nowMs: number): void {
  producer.tombstoned = true;
  producer.tombstonedAtMs = nowMs;
}

/**
 * Producers heard from within the inactivity timeout and not tombstoned (nsqlookupd's
 * `FilterByActive`). Pass a lifetime of 0 to keep tombstoned ones, as `/nodes` does.
 */
export function filterActive(
  producers: readonly Producer[],
  nowMs: number,
  inactiveProducerTimeoutMs: number,
  tombstoneLifetimeMs: number,
): Producer[] {
  return producers.filter(
    (p) => nowMs - p.peer.lastUpdateMs <= inactiveProducerTimeoutMs && !isTombstoned(p, nowMs, tombstoneLifetimeMs),
  );
}

/**
 * The nsqd addresses a consumer keeps a subscription to — given directly, found through lookupd,
 * or both — and the reconnect policy: after a failure or a drop, the next attempt waits
 * `initial × 2^failures`, capped. An address lookupd no longer lists (and that was not given
 * directly) is forgotten and its subscription handed back for retirement.
 */
import type { LookupdPollResult } from './discovery.ts';
import type { Subscription } from './consumer-connection.ts';

export interface EndpointHooks {
  /** A new, unopened subscription to `address`. */
  create(address: string): Subscription;
  connected(subscription: Subscription): void;
  failed(address: string, error: unknown): void;
}

interface Endpoint {
  address: string;
  /** The nsqd's HTTP address, as lookupd last listed it. */
  httpAddress: string | undefined;
  direct: boolean;
  fromLookupd: boolean;
  subscription: Subscription | undefined;
  opening: Promise<void> | undefined;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

export class Endpoints {
  private readonly endpoints = new Map<string, Endpoint>();
  private stopped = false;

  constructor(
    private readonly delays: { reconnectInitialDelayMs: number; reconnectMaxDelayMs: number },
    private readonly hooks: EndpointHooks,
  ) {}

  get addresses(): string[] {
    return [...this.endpoints.keys()].sort();
  }

  /** How many nsqd are known, connected or not. */
  get size(): number {
    return this.endpoints.size;
  }

  /** Adds an address (or a new source for a known one) and connects if not connected. */
  add(address: string, source: 'direct' | 'lookupd'): void {
    let endpoint = this.endpoints.get(address);
    if (endpoint === undefined) {
      endpoint = { address, httpAddress: undefined, direct: false, fromLookupd: false, subscription: undefined, opening: undefined, failures: 0, timer: undefined };
      this.endpoints.set(address, endpoint);
    }
    if (source === 'direct') endpoint.direct = true;
    else endpoint.fromLookupd = true;
    this.connect(endpoint);
  }

  /**
   * A subscription's connection closed: schedules the reconnect. Returns whether the address came
   * from lookupd, so the caller can ask for a poll (the nsqd may have gone for good).
   */
  closed(subscription: Subscription): boolean {
    const endpoint = this.endpoints.get(subscription.address);
    if (endpoint === undefined || endpoint.subscription !== subscription) return false;
    endpoint.subscription = undefined;
    this.scheduleReconnect(endpoint);
    return endpoint.fromLookupd;
  }

  /** Applies a poll: connects to new producers; returns the subscriptions of producers gone from every lookupd. */
  applyLookup(result: LookupdPollResult): Subscription[] {
    if (this.stopped) return [];
    for (const address of result.producers) {
      this.add(address, 'lookupd');
      this.endpoints.get(address)!.httpAddress = result.httpAddresses.get(address);
    }
    if (!result.complete) return [];
    const listed = new Set(result.producers);
    const retired: Subscription[] = [];
    for (const endpoint of [...this.endpoints.values()]) {
      if (!endpoint.fromLookupd || listed.has(endpoint.address)) continue;
      endpoint.fromLookupd = false;
      if (endpoint.direct) continue;
      this.endpoints.delete(endpoint.address);
      clearTimeout(endpoint.timer);
      if (endpoint.subscription !== undefined) retired.push(endpoint.subscription);
    }
    return retired;
  }

  /** The HTTP address lookupd gave for an nsqd (undefined for one given directly). */
  httpAddressOf(address: string): string | undefined {
    return this.endpoints.get(address)?.httpAddress;
  }

  /**
   * Forgets a directly given address (one lookupd lists stays, as lookupd's): no more reconnects.
   * Returns its subscription, if connected, for the caller to retire.
   */
  remove(address: string): Subscription | undefined {
    const endpoint = this.endpoints.get(address);
    if (endpoint === undefined || !endpoint.direct) return undefined;
    endpoint.direct = false;
    if (endpoint.fromLookupd) return undefined;
    this.endpoints.delete(address);
    clearTimeout(endpoint.timer);
    return endpoint.subscription;
  }

  /** Stops reconnecting; resolves the connection attempts still running (they close themselves). */
  stop(): Promise<unknown> {
    this.stopped = true;
    const openings: Promise<void>[] = [];
    for (const endpoint of this.endpoints.values()) {
      clearTimeout(endpoint.timer);
      endpoint.timer = undefined;
      if (endpoint.opening !== undefined) openings.push(endpoint.opening);
    }
    return Promise.allSettled(openings);
  }

  private connect(endpoint: Endpoint): void {
    if (this.stopped || endpoint.subscription !== undefined || endpoint.opening !== undefined) return;
    clearTimeout(endpoint.timer);
    endpoint.timer = undefined;
    const subscription = this.hooks.create(endpoint.address);
    endpoint.opening = subscription.open().then(
      () => {
        endpoint.opening = undefined;
        if (this.stopped || this.endpoints.get(endpoint.address) !== endpoint) {
          void subscription.connection.end();
          return;
        }
        endpoint.subscription = subscription;
        endpoint.failures = 0;
        this.hooks.connected(subscription);
      },
      (error: unknown) => {
        endpoint.opening = undefined;
        if (this.stopped) return;
        this.hooks.failed(endpoint.address, error);
        if (this.endpoints.get(endpoint.address) === endpoint) this.scheduleReconnect(endpoint);
      },
    );
  }

  private scheduleReconnect(endpoint: Endpoint): void {
    if (this.stopped || endpoint.timer !== undefined) return;
    const { reconnectInitialDelayMs, reconnectMaxDelayMs } = this.delays;
    const delay = Math.min(reconnectInitialDelayMs * 2 ** Math.min(endpoint.failures, 20), reconnectMaxDelayMs);
    endpoint.failures++;
    endpoint.timer = setTimeout(() => {
      endpoint.timer = undefined;
      this.connect(endpoint);
    }, delay);
  }
}

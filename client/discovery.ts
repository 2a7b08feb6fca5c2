/**
 * Finding nsqd instances through nsqlookupd: `GET /lookup?topic=T` on every configured lookupd at
 * each poll, the union of `producers[].broadcast_address:tcp_port` as the result. A 404 means the
 * topic is not registered yet, which is an empty answer, not an error.
 */
import { LookupError } from './errors.ts';
import { errorMessageOf, nsqHttpRequest } from './http-request.ts';
import type { TlsOption } from './options.ts';
import { joinHostPort } from '../protocol/address.ts';

const ACCEPT = 'application/vnd.nsq; version=1.0';

/**
 * What a 404 NOT_FOUND from an address given as lookupd's means: lookupd answers a topic it does not
 * know with TOPIC_NOT_FOUND, and NOT_FOUND is any other HTTP API's answer to a path it lacks, nsqd's
 * above all (runner/ops/endpoints.ts says the same of /nodes).
 */
export const NOT_A_LOOKUPD = "this is not an nsqlookupd (an nsqd's HTTP address? lookupd's HTTP port is 4161 by default)";

/** The lookup URL for an address given as `host:port` or as a full URL (an empty path or `/` becomes `/lookup`). */
export function lookupUrl(address: string, topic: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `http://${address}`;
  const url = new URL(withScheme);
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/lookup';
  url.searchParams.set('topic', topic);
  return url.toString();
}

export { joinHostPort };

/** One nsqd as lookupd lists it: where to subscribe, and its HTTP API (to create channels, say). */
export interface LookupdNode {
  tcpAddress: string;
  /** `broadcast_address:http_port`, when lookupd gave a usable http_port. */
  httpAddress: string | undefined;
}

/**
 * The producers' TCP addresses in a lookup reply: the v1 body, or the legacy
 * `{"status_code":200,"data":{...}}` wrapper of old lookupds. Entries without a usable address are skipped.
 */
export function parseLookupProducers(body: unknown): string[] {
  return parseLookupNodes(body).map((node) => node.tcpAddress);
}

/** The producers of a lookup reply with their HTTP addresses too (see {@link parseLookupProducers}). */
export function parseLookupNodes(body: unknown): LookupdNode[] {
  if (body === null || typeof body !== 'object') throw new TypeError('lookup reply is not a JSON object');
  let record = body as Record<string, unknown>;
  if (!Array.isArray(record.producers) && record.data !== null && typeof record.data === 'object') {
    record = record.data as Record<string, unknown>;
  }
  if (!Array.isArray(record.producers)) throw new TypeError('lookup reply has no producers array');
  const out: LookupdNode[] = [];
  for (const producer of record.producers as unknown[]) {
    if (producer === null || typeof producer !== 'object') continue;
    const p = producer as Record<string, unknown>;
    const host = typeof p.broadcast_address === 'string' && p.broadcast_address !== '' ? p.broadcast_address : p.address;
    const port = p.tcp_port;
    if (typeof host !== 'string' || host === '' || typeof port !== 'number' || !Number.isInteger(port)) continue;
    const httpPort = p.http_port;
    const httpAddress = typeof httpPort === 'number' && Number.isInteger(httpPort) && httpPort > 0 ? joinHostPort(host, httpPort) : undefined;
    out.push({ tcpAddress: joinHostPort(host, port), httpAddress });
  }
  return out;
}

/** One lookupd's answer: the producers, or an empty list for a topic it does not know (404). */
export async function queryLookupd(address: string, topic: string, timeoutMs: number, tls?: TlsOption): Promise<string[]> {
  return (await queryLookupdNodes(address, topic, timeoutMs, tls)).map((node) => node.tcpAddress);
}

/** One lookupd's answer with each producer's HTTP address (see {@link queryLookupd}); https addresses use `tls`. */
export async function queryLookupdNodes(address: string, topic: string, timeoutMs: number, tls?: TlsOption): Promise<LookupdNode[]> {
  const url = lookupUrl(address, topic);
  let response: { status: number; text: string };
  try {
    response = await nsqHttpRequest(url, { headers: { Accept: ACCEPT }, signal: AbortSignal.timeout(timeoutMs), tls });
  } catch (cause) {
    throw new LookupError(url, `lookupd query ${url} failed: ${(cause as Error).message}`, undefined, { cause });
  }
  const text = response.text;
  // Polling an address that is no lookupd would wait for ever for nothing.
  if (response.status === 404 && errorMessageOf(text) === 'NOT_FOUND') throw new LookupError(url, `lookupd query ${url} answered 404 NOT_FOUND: ${NOT_A_LOOKUPD}`, 404);
  if (response.status === 404) return [];
  if (response.status !== 200) {
    throw new LookupError(url, `lookupd query ${url} answered ${response.status}: ${text.slice(0, 200)}`, response.status);
  }
  try {
    return parseLookupNodes(JSON.parse(text));
  } catch (cause) {
    throw new LookupError(url, `lookupd query ${url} sent an unreadable reply`, 200, { cause });
  }
}

export interface LookupdPollerOptions {
  addresses: readonly string[];
  topic: string;
  intervalMs: number;
  /** Fraction of the interval: the first periodic poll starts after a random delay in [0, jitter × interval). */
  jitter: number;
  requestTimeoutMs: number;
  /** TLS for https lookupd addresses (the consumer's `tls` option). */
  tls?: TlsOption;
}

/** The lookupd options of a consumer (or of a shared LookupdDiscovery), under their option names. */
export interface LookupdPollingOptions {
  lookupdHttpAddresses: readonly string[];
  topic: string;
  lookupdPollIntervalMs: number;
  lookupdPollJitter: number;
  lookupdRequestTimeoutMs: number;
  tls?: TlsOption | undefined;
}

/** The poller's options, from a consumer's (or a LookupdDiscovery's) lookupd options. */
export function lookupdPollerOptions(options: LookupdPollingOptions): LookupdPollerOptions {
  return {
    addresses: options.lookupdHttpAddresses,
    topic: options.topic,
    intervalMs: options.lookupdPollIntervalMs,
    jitter: options.lookupdPollJitter,
    requestTimeoutMs: options.lookupdRequestTimeoutMs,
    tls: options.tls,
  };
}

export interface LookupdPollResult {
  /** The union of producers from every lookupd that answered. */
  producers: string[];
  /** True when every lookupd answered, so a producer missing from `producers` has really gone. */
  complete: boolean;
  /** Each producer's HTTP address, by TCP address, where lookupd gave one. */
  httpAddresses: ReadonlyMap<string, string>;
}

/** Shortest gap between two polls, so a burst of disconnects does not flood the lookupds. */
const MIN_POLL_GAP_MS = 1000;

/** Polls every lookupd at once, then periodically; reports results and errors through callbacks. */
export class LookupdPoller {
  private timer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private lastPollAt = 0;

  constructor(
    private readonly options: LookupdPollerOptions,
    private readonly onResult: (result: LookupdPollResult) => void,
    private readonly onError: (error: LookupError) => void,
  ) {}

  /** Polls now, then after a jittered delay, then every interval. */
  start(): void {
    void this.poll();
    const firstDelay = Math.floor(Math.random() * this.options.jitter * this.options.intervalMs);
    this.timer = setTimeout(() => this.tick(), firstDelay + this.options.intervalMs);
  }

  /** Asks for a poll soon (after a connection to a discovered nsqd closed). */
  pollSoon(): void {
    if (this.stopped || this.soonTimer !== undefined) return;
    const wait = Math.max(0, this.lastPollAt + MIN_POLL_GAP_MS - Date.now());
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      void this.poll();
    }, wait);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.soonTimer);
  }

  /** One poll of every lookupd. Concurrent calls share the poll in progress. */
  poll(): Promise<void> {
    this.running ??= this.pollAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private tick(): void {
    if (this.stopped) return;
    void this.poll();
    this.timer = setTimeout(() => this.tick(), this.options.intervalMs);
  }

  private async pollAll(): Promise<void> {
    this.lastPollAt = Date.now();
    const results = await Promise.allSettled(
      this.options.addresses.map((address) => queryLookupdNodes(address, this.options.topic, this.options.requestTimeoutMs, this.options.tls)),
    );
    if (this.stopped) return;
    const producers = new Set<string>();
    const httpAddresses = new Map<string, string>();
    let complete = true;
    let answered = 0;
    for (const result of results) {
      if (result.status === 'fulfilled') {
        answered++;
        for (const node of result.value) {
          producers.add(node.tcpAddress);
          if (node.httpAddress !== undefined) httpAddresses.set(node.tcpAddress, node.httpAddress);
        }
      } else {
        complete = false;
        this.onError(result.reason as LookupError);
      }
    }
    if (answered > 0) this.onResult({ producers: [...producers].sort(), complete, httpAddresses });
  }
}

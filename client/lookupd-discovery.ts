/**
 * One lookupd poller shared by several consumers of a topic (a worker's tasks, each on its own
 * channel): one query per interval instead of one per consumer, every consumer learns of a new nsqd
 * at the same moment (so they subscribe together, not up to an interval apart), and the owner sees
 * each result too, to say what was found or is awaited. The first poll runs at once, as go-nsq's.
 *
 * ```ts
 * const discovery = new LookupdDiscovery({ topic: 'events', lookupdHttpAddresses: ['127.0.0.1:4161'] });
 * const a = new Consumer({ topic: 'events', channel: 'a', lookupdHttpAddresses: ['127.0.0.1:4161'], discovery }, handleA);
 * ```
 */
import { z } from 'zod';
import { LookupdPoller, lookupdPollerOptions, type LookupdPollResult } from './discovery.ts';
import type { LookupError } from './errors.ts';
import { TypedEmitter } from './events.ts';
import { parseOptions, TlsOptionsSchema } from './options.ts';

const int = z.number().int();

export const LookupdDiscoveryOptionsSchema = z.object({
  topic: z.string().min(1),
  lookupdHttpAddresses: z.array(z.string().min(1)).min(1).describe('nsqlookupd HTTP addresses (host:port or URL) to poll'),
  lookupdPollIntervalMs: int.min(10).default(60_000).describe('Interval between lookupd polls, ms'),
  lookupdPollJitter: z.number().min(0).max(1).default(0.3).describe('Fraction of the interval used as random jitter'),
  lookupdRequestTimeoutMs: int.min(1).default(5000).describe('Timeout of one lookupd query, ms'),
  tls: z.union([z.boolean(), TlsOptionsSchema]).default(false).describe('TLS options for https lookupd addresses'),
}).strict();

export type LookupdDiscoveryOptionsInput = z.input<typeof LookupdDiscoveryOptionsSchema>;
export type LookupdDiscoveryOptions = z.output<typeof LookupdDiscoveryOptionsSchema>;

export type LookupdDiscoveryEvents = {
  /** A poll's answer (every poll, changed or not). */
  result: [result: LookupdPollResult];
  /** A lookupd that did not answer; the others' answers still count. */
  error: [error: LookupError];
};

export class LookupdDiscovery extends TypedEmitter<LookupdDiscoveryEvents> {
  readonly options: LookupdDiscoveryOptions;
  private readonly poller: LookupdPoller;
  private started = false;
  private latest: LookupdPollResult | undefined;

  constructor(options: LookupdDiscoveryOptionsInput) {
    super();
    this.options = parseOptions(LookupdDiscoveryOptionsSchema, options, 'lookupd discovery');
    this.poller = new LookupdPoller(
      lookupdPollerOptions(this.options),
      (result) => {
        this.latest = result;
        this.emit('result', result);
      },
      (error) => this.emit('error', error),
    );
  }

  /** The last answer, if any: a consumer that joins late starts from it. */
  get lastResult(): LookupdPollResult | undefined {
    return this.latest;
  }

  /** Polls now, then on the interval with jitter. Idempotent. */
  start(): this {
    if (!this.started) {
      this.started = true;
      this.poller.start();
    }
    return this;
  }

  /** A poll soon (rate-limited): a connection to a discovered nsqd closed, it may have gone. */
  pollSoon(): void {
    if (this.started) this.poller.pollSoon();
  }

  /** Stops polling. The consumers that use it keep their connections. */
  stop(): void {
    this.poller.stop();
  }
}

/**
 * `nsqworker tail`, after NSQ's nsq_tail: subscribes to one or more topics on a channel (by default
 * an ephemeral one of its own) and writes each body and a newline to the output. With a message
 * limit it stops after that many; messages that arrive past the limit are requeued at once, so a
 * shared channel loses nothing.
 */
import type { ClientSecurity } from '../config/client-security.ts';
import type { Writable } from 'node:stream';
import { Consumer } from '../../client/consumer.ts';
import type { Message } from '../../client/message.ts';
import { BatchedWriter } from './batched-writer.ts';

export interface TailOptions {
  topics: string[];
  channel: string;
  nsqdTcpAddresses: string[];
  lookupdHttpAddresses: string[];
  /** Messages to show before stopping; 0 shows them until stopped. */
  totalMessages: number;
  /** Writes `<topic> | ` before each body. */
  printTopic: boolean;
  maxInFlight: number;
  output: Writable;
  /** Connection problems: the consumers keep reconnecting, the caller decides how loud to be. */
  onError: (error: Error) => void;
  /** A consumer's warnings (W_COMPRESSION_DECLINED: nsqd did not turn on --snappy or --deflate). */
  onWarning?: (message: string) => void;
  /** The consumer of `topic` subscribed on the nsqd at `address`. */
  onConnected?: (topic: string, address: string) => void;
  /** TLS, compression and AUTH for the connections to nsqd (and TLS for https lookupds). */
  security?: ClientSecurity;
}

export interface TailHandle {
  /** Resolves once stopped (at the limit, or by {@link stop}) with everything closed and written. */
  readonly done: Promise<void>;
  /** Stops taking messages, requeues the unanswered ones, closes, and flushes the output. Idempotent. */
  stop(): Promise<void>;
}

/** How long a stop waits for a blocked output before requeueing what is still held. */
const CLOSE_TIMEOUT_MS = 5000;

export function startTail(options: TailOptions): TailHandle {
  const writer = new BatchedWriter(options.output);
  const limit = options.totalMessages;
  let shown = 0;
  let stopping: Promise<void> | undefined;
  let settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const reachedLimit = (): void => void stop().catch(() => {});

  const consumers = options.topics.map((topic) => {
    const prefix = options.printTopic ? Buffer.from(`${topic} | `, 'utf8') : undefined;
    const handler = (message: Message): Promise<void> | undefined => {
      if (limit > 0 && shown >= limit) {
        // Past the limit: hand it back now instead of letting it wait out its timeout in flight.
        message.requeue(0, { backoff: false });
        return undefined;
      }
      shown++;
      writer.writeLine(prefix, message.body);
      if (shown === limit) setImmediate(reachedLimit);
      return writer.blocked;
    };
    const consumer = new Consumer(
      {
        topic,
        channel: options.channel,
        nsqdTcpAddresses: options.nsqdTcpAddresses,
        lookupdHttpAddresses: options.lookupdHttpAddresses,
        maxInFlight: options.maxInFlight,
        // The handler never fails: the only requeues are past the limit, and those are not the message's fault.
        maxAttempts: 0,
        closeTimeoutMs: CLOSE_TIMEOUT_MS,
        ...options.security,
      },
      handler,
    );
    consumer.on('error', options.onError);
    const { onConnected, onWarning } = options;
    if (onConnected !== undefined) consumer.on('connected', (address) => onConnected(topic, address));
    if (onWarning !== undefined) consumer.on('warning', (warning) => onWarning(warning.message));
    return consumer;
  });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      writer.flush();
      await Promise.all(consumers.map((consumer) => consumer.close()));
      await writer.end();
    })().then(
      () => settle?.resolve(),
      (error: unknown) => {
        settle?.reject(error);
        throw error;
      },
    );
    return stopping;
  };
  for (const consumer of consumers) consumer.start();
  return { done, stop };
}

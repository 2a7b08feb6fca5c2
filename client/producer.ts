/**
 * The producer: publish, publish many (MPUB) and publish deferred (DPUB), each a promise settled
 * by the broker's answer. Publishes are pipelined on one connection and answered in order (a FIFO
 * of pending replies). The connection is made on the first publish; when it fails, the next nsqd
 * in the list is tried.
 *
 * What happens to publishes when a connection is lost:
 * - publishes not yet written (queued while connecting) are sent on the next connection;
 * - publishes written after one the broker refused are retried too: nsqd executes commands in
 *   order and stops reading after a fatal error, so they were never executed;
 * - publishes written and unanswered when the connection dropped are rejected with
 *   `E_PUBLISH_UNCONFIRMED`: the broker may or may not have them, and retrying could duplicate them;
 * - when no nsqd can be reached, queued publishes are rejected with the connection error.
 * With the `retry` option, the last two cases and a publish nsqd refused (`E_PUB_FAILED`, ...) are
 * sent again on the next nsqd after a backoff (publish-retry.ts), at least once: a retried
 * unconfirmed publish may be a duplicate. The promise then rejects only with the last error.
 * No publish promise is left pending: close() settles everything within closeTimeoutMs.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { encodeDpub, encodeMpub, encodePub } from '../protocol/commands.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { checkTopic, toBodyBuffer, type PublishBody } from './body.ts';
import { NsqConnection, type ConnectionDelegate } from './connection.ts';
import { ClientErrorCode, NsqClientError } from './errors.ts';
import { TypedEmitter } from './events.ts';
import { Fifo } from './fifo.ts';
import { ProducerOptionsSchema, parseOptions, type ProducerOptions, type ProducerOptionsInput } from './options.ts';
import { isRetryablePublishError, retryDelayMs } from './publish-retry.ts';
import { compressionDeclined, type CompressionDeclinedWarning } from './upgrade.ts';

export type ProducerEvents = {
  connected: [address: string];
  disconnected: [address: string, error: Error | undefined];
  error: [error: Error];
  /** `W_COMPRESSION_DECLINED`: nsqd did not turn on the snappy or deflate asked for; the connection is uncompressed. */
  warning: [warning: CompressionDeclinedWarning];
};

interface PendingPublish {
  command: Buffer;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class Producer extends TypedEmitter<ProducerEvents> {
  readonly options: ProducerOptions;
  private readonly unsent = new Fifo<PendingPublish>();
  private readonly sent = new Fifo<PendingPublish>();
  private connection: NsqConnection | undefined;
  private connecting = false;
  private addressIndex = 0;
  private closed = false;
  private closePromise: Promise<void> | undefined;
  private idleWaiter: (() => void) | undefined;

  /**
   * Checks the options (see ProducerOptionsInput for units and defaults); connects at the first publish.
   * @throws NsqClientError `E_INVALID_OPTIONS` listing every problem: a value out of range, a missing
   *   address, an unknown key (with the nearest known one).
   */
  constructor(options: ProducerOptionsInput) {
    super();
    this.options = parseOptions(ProducerOptionsSchema, options, 'producer');
  }

  /** The nsqd address in use (or to be tried next). */
  get address(): string {
    return this.options.nsqdTcpAddresses[this.addressIndex]!;
  }

  /** Publishes answered by nobody yet. */
  get pendingCount(): number {
    return this.unsent.length + this.sent.length;
  }

  /** PUB: resolves when nsqd has accepted the message. */
  publish(topic: string, body: PublishBody): Promise<void> {
    let command: Buffer;
    try {
      checkTopic(topic);
      command = encodePub(topic, toBodyBuffer(body, this.options.maxMessageBytes));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.submit(command);
  }

  /** MPUB: one atomic batch; resolves when nsqd has accepted all of them. */
  publishMany(topic: string, bodies: readonly PublishBody[]): Promise<void> {
    let command: Buffer;
    try {
      checkTopic(topic);
      if (!Array.isArray(bodies) || bodies.length === 0) {
        throw new NsqClientError(ClientErrorCode.InvalidBody, 'publishMany needs a non-empty array of bodies');
      }
      const buffers = bodies.map((body) => toBodyBuffer(body, this.options.maxMessageBytes));
      let size = 4;
      for (const b of buffers) size += 4 + b.length;
      if (size > this.options.maxBatchBytes) {
        throw new NsqClientError(ClientErrorCode.BodyTooLarge, `MPUB body of ${size} bytes is over the ${this.options.maxBatchBytes}-byte limit`);
      }
      command = encodeMpub(topic, buffers);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.submit(command);
  }

  /** DPUB: the message is delivered after `delayMs` (an integer in 0..maxDeferMs). */
  publishDeferred(topic: string, body: PublishBody, delayMs: number): Promise<void> {
    let command: Buffer;
    try {
      checkTopic(topic);
      if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > this.options.maxDeferMs) {
        throw new NsqClientError(ClientErrorCode.InvalidDelay, `defer delay must be an integer in 0..${this.options.maxDeferMs} ms, got ${delayMs}`);
      }
      command = encodeDpub(topic, delayMs, toBodyBuffer(body, this.options.maxMessageBytes));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.submit(command);
  }

  /** Waits for every outstanding answer (up to closeTimeoutMs), then closes. A second call returns the same promise. */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private submit(command: Buffer): Promise<void> {
    const first = this.submitOnce(command);
    return this.options.retry === undefined ? first : first.catch((error: unknown) => this.republish(command, error));
  }

  /** Sends a failed publish again while the retry policy allows; rejects with the last error. */
  private async republish(command: Buffer, firstError: unknown): Promise<void> {
    const retry = this.options.retry!;
    let error = firstError;
    for (let attempt = 2; attempt <= retry.attempts && !this.closed && isRetryablePublishError(error); attempt++) {
      // A refusal came from the nsqd in use: the next attempt goes to the next one. (A lost
      // connection has already moved on; an unreachable list starts over where it is.)
      if (error instanceof ProtocolError) this.addressIndex = (this.addressIndex + 1) % this.options.nsqdTcpAddresses.length;
      await delay(retryDelayMs(retry, attempt));
      if (this.closed) break;
      try {
        return await this.submitOnce(command);
      } catch (next) {
        error = next;
      }
    }
    throw error;
  }

  private submitOnce(command: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new NsqClientError(ClientErrorCode.Closed, 'the producer is closed'));
    return new Promise<void>((resolve, reject) => {
      const pending: PendingPublish = { command, resolve, reject };
      const connection = this.connection;
      if (connection !== undefined && connection.connected && this.unsent.length === 0) {
        this.sent.push(pending);
        connection.writeCoalesced(command);
      } else {
        this.unsent.push(pending);
        void this.ensureConnection();
      }
    });
  }

  /** Connects to the current nsqd, then the following ones, until one answers; then sends what waited. */
  private async ensureConnection(): Promise<void> {
    if (this.connecting || this.closedForGood || (this.connection !== undefined && this.connection.connected)) return;
    this.connecting = true;
    const addresses = this.options.nsqdTcpAddresses;
    let lastError: Error | undefined;
    for (let tried = 0; tried < addresses.length; tried++) {
      const index = (this.addressIndex + tried) % addresses.length;
      const address = addresses[index]!;
      const connection = new NsqConnection(address, this.options, this.delegateFor(address));
      try {
        await connection.connect();
      } catch (error) {
        lastError = error as Error;
        this.emit('error', lastError);
        continue;
      }
      this.connecting = false;
      this.addressIndex = index;
      if (this.closedForGood) {
        void connection.end();
        return;
      }
      this.connection = connection;
      const declined = compressionDeclined(address, connection.identity.negotiated, this.options);
      if (declined !== undefined) this.emit('warning', declined);
      this.emit('connected', address);
      this.sendUnsent();
      return;
    }
    this.connecting = false;
    // Nobody could be reached: fail what waited rather than keep it hanging. A refusal of the client's
    // own (TLS, AUTH) is the error itself, with its code, as the README promises (`retry` tries TLS and
    // AUTH failures again, which may pass); a network failure is E_CONNECTION_CLOSED.
    const error =
      lastError instanceof ProtocolError || (lastError instanceof NsqClientError && lastError.code !== ClientErrorCode.ConnectionClosed && lastError.code !== ClientErrorCode.ConnectTimeout)
        ? lastError
        : new NsqClientError(ClientErrorCode.ConnectionClosed, `no nsqd reachable (${addresses.join(', ')}): ${lastError?.message}`, { cause: lastError });
    for (const pending of this.unsent.drain()) pending.reject(error);
    this.checkIdle();
  }

  private get closedForGood(): boolean {
    return this.closed && this.unsent.length === 0;
  }

  private sendUnsent(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    for (let pending = this.unsent.shift(); pending !== undefined; pending = this.unsent.shift()) {
      this.sent.push(pending);
      connection.writeCoalesced(pending.command);
    }
  }

  private delegateFor(address: string): ConnectionDelegate {
    let refusedFatally = false;
    const producer = this;
    return {
      onMessage() {
        producer.connection?.destroy(new NsqClientError(ClientErrorCode.UnexpectedFrame, `${address} sent a message to a producer`));
      },
      onResponse() {
        const pending = producer.sent.shift();
        if (pending === undefined) {
          producer.connection?.destroy(new NsqClientError(ClientErrorCode.UnexpectedFrame, `${address} answered with nothing pending`));
          return;
        }
        pending.resolve();
        producer.checkIdle();
      },
      onProtocolError(error: ProtocolError) {
        const pending = producer.sent.shift();
        if (error.fatal) refusedFatally = true;
        if (pending === undefined) {
          producer.emit('error', error);
          return;
        }
        pending.reject(error);
        producer.checkIdle();
      },
      onClose(error: Error | undefined) {
        producer.connection = undefined;
        const unanswered = producer.sent.drain();
        if (refusedFatally) {
          // nsqd stopped reading at the refused command: the ones after it were never executed.
          producer.unsent.unshiftAll(unanswered);
        } else {
          const lost = new NsqClientError(
            ClientErrorCode.Unconfirmed,
            `connection to ${address} lost before nsqd answered: the message may or may not have been published`,
            { cause: error },
          );
          for (const pending of unanswered) pending.reject(lost);
          // A broken connection (not a refused command) sends the next attempt to the next nsqd.
          producer.addressIndex = (producer.addressIndex + 1) % producer.options.nsqdTcpAddresses.length;
        }
        producer.emit('disconnected', address, error);
        if (producer.unsent.length > 0) void producer.ensureConnection();
        producer.checkIdle();
      },
    };
  }

  private checkIdle(): void {
    if (this.idleWaiter !== undefined && this.pendingCount === 0) this.idleWaiter();
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    if (this.pendingCount > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.idleWaiter = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.closeTimeoutMs))),
      ]);
      clearTimeout(timer);
      this.idleWaiter = undefined;
    }
    const closedError = new NsqClientError(ClientErrorCode.Closed, 'the producer closed before nsqd answered');
    for (const pending of this.unsent.drain()) pending.reject(closedError);
    for (const pending of this.sent.drain()) pending.reject(closedError);
    await this.connection?.end();
    this.connection = undefined;
  }
}

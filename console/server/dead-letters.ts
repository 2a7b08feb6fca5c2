/**
 * Reading a worker's dead letters. NSQ cannot show a message without delivering it, so the console
 * subscribes the dead-letter topic through a channel of its own (`nsqworker_console`, created on the
 * first view), keeps the oldest ones in flight (TOUCHed) while someone looks, and answers each with
 * FIN once it is replayed or discarded. A replay is published first and FINed only after nsqd took
 * the publish, so a crash between the two leaves the dead letter where it was (at least once, as NSQ).
 * A reader nobody has looked at for a while closes, and its messages go back to the channel.
 */
import type { Logger } from 'pino';
import { Consumer } from '../../client/consumer.ts';
import { RequeueMessage } from '../../client/errors.ts';
import type { Message } from '../../client/message.ts';
import type { TlsOption } from '../../client/options.ts';
import type { ActionResult, DeadLettersAnswer, DeadLetterView } from '../api-types.ts';
import type { ClusterModel } from './cluster.ts';
import type { UpstreamClient } from './http-client.ts';
import { within } from '../../client/within.ts';
import { CONSOLE_CHANNEL, deadLettersWaiting } from './workers.ts';

const PREVIEW_CHARS = 400;
/**
 * How long, in ms, the first view of a topic waits for its new reader to be given the dead letters
 * waiting (connect, SUBSCRIBE, RDY and delivery take a few ms on one host): a script's single call
 * lists them instead of none.
 */
const FIRST_VIEW_WAIT_MS = 2_000;

interface Held {
  message: Message;
  view: DeadLetterView;
  /** The envelope's original topic, body and encoding, when it is one. */
  replay: { topic: string; task: string; channel: string; body: string; encoding: string } | undefined;
  answer(finish: boolean): void;
}

function describe(message: Message): Omit<Held, 'answer' | 'message'> {
  const raw = message.body.toString('utf8');
  let envelope: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === 'object' && parsed !== null) envelope = parsed as Record<string, unknown>;
  } catch {
    envelope = undefined;
  }
  const text = (key: string) => (typeof envelope?.[key] === 'string' ? (envelope[key] as string) : '');
  const body = text('body');
  const encoding = text('body_encoding') || 'utf8';
  const isEnvelope = envelope !== undefined && text('topic') !== '' && text('task') !== '' && typeof envelope.body === 'string';
  const shown = isEnvelope ? (encoding === 'base64' ? `(binary, ${Buffer.from(body, 'base64').length} bytes)` : body) : raw;
  return {
    view: {
      id: message.id,
      task: text('task'),
      rejected: envelope?.rejected === true,
      topic: text('topic'),
      channel: text('channel'),
      messageId: text('message_id'),
      attempts: typeof envelope?.attempts === 'number' ? envelope.attempts : message.attempts,
      error: isEnvelope ? text('error') : 'not a dead-letter envelope',
      deadLetteredAt: text('dead_lettered_at'),
      bodyPreview: shown.length > PREVIEW_CHARS ? `${shown.slice(0, PREVIEW_CHARS)}…` : shown,
      bodyBytes: isEnvelope ? Buffer.byteLength(body, encoding === 'base64' ? 'base64' : 'utf8') : message.body.length,
    },
    // A message the worker rejected before any task ran is replayed to every task: '*' (EVERY_TASK of
    // runner/worker/replay.ts, whose envelope this writes; the console does not import the runner).
    replay: isEnvelope ? { topic: text('topic'), task: envelope?.rejected === true ? '*' : text('task'), channel: text('channel'), body, encoding } : undefined,
  };
}

class Reader {
  readonly held = new Map<string, Held>();
  lastViewedAt = Date.now();
  private readonly consumer: Consumer;
  /** Told of each dead letter as it comes in. */
  private arrived: (() => void) | undefined;

  constructor(readonly topic: string, tcpAddresses: string[], limit: number, logger: Logger, tls: TlsOption | undefined) {
    this.consumer = new Consumer(
      // Unlimited attempts: a dead letter must never be given up on (FINed) by the console.
      { topic, channel: CONSOLE_CHANNEL, nsqdTcpAddresses: tcpAddresses, maxInFlight: limit, maxAttempts: 0, autoTouch: true, userAgent: 'nsqworker-console', requeueDelayMs: 0, ...(tls === undefined ? {} : { tls }) },
      (message) =>
        new Promise<void>((resolve, reject) => {
          this.held.set(message.id, {
            message,
            ...describe(message),
            answer: (finish) => {
              this.held.delete(message.id);
              if (finish) resolve();
              else reject(new RequeueMessage(0, false));
            },
          });
          this.arrived?.();
        }),
    );
    // One line, no stack: an nsqd that cannot be reached is an expected state (it retries, backing off).
    this.consumer.on('error', (error) => logger.warn({ topic, code: (error as { code?: unknown }).code }, `dead-letter reader of ${topic}: ${error.message}`));
    this.consumer.start();
  }

  /** Resolves once `count` dead letters are held, or after `ms` milliseconds. */
  async holding(count: number, ms: number): Promise<void> {
    if (this.held.size >= count) return;
    const enough = new Promise<void>((resolve) => {
      this.arrived = () => {
        if (this.held.size >= count) resolve();
      };
    });
    await within(enough, ms);
    this.arrived = undefined;
  }

  async close(): Promise<void> {
    for (const held of [...this.held.values()]) held.answer(false);
    await this.consumer.close();
  }
}

export class DeadLetterReaders {
  private readonly readers = new Map<string, Reader>();
  private readonly idleTimer: NodeJS.Timeout;

  constructor(private readonly deps: { model: ClusterModel; upstream: UpstreamClient; logger: Logger; readOnly: boolean; limit?: number; idleMs?: number; tls?: TlsOption }) {
    const idleMs = deps.idleMs ?? 120_000;
    this.idleTimer = setInterval(() => {
      for (const [topic, reader] of this.readers) {
        if (Date.now() - reader.lastViewedAt < idleMs) continue;
        this.readers.delete(topic);
        void reader.close();
      }
    }, Math.min(idleMs, 30_000));
    this.idleTimer.unref();
  }

  /**
   * The oldest dead letters of `topic`, opening its reader on the first view. Opening one creates a
   * channel, a change to the cluster: under --read-only, or for a viewer who may not act, only the
   * count is shown. The view that opens a reader answers once it holds the dead letters waiting (up
   * to its limit), or after {@link FIRST_VIEW_WAIT_MS}.
   */
  async view(topic: string, mayRead: boolean): Promise<DeadLettersAnswer> {
    const waiting = deadLettersWaiting(this.deps.model, topic);
    if (this.deps.readOnly || !mayRead) return { topic, channel: null, waiting, held: [], error: null };
    let reader = this.readers.get(topic);
    if (reader === undefined) {
      const tcpAddresses = this.deps.model.nodesWithTopic(topic).flatMap((address) => this.deps.model.nodes.get(address)?.tcpAddress ?? []);
      if (tcpAddresses.length === 0) return { topic, channel: CONSOLE_CHANNEL, waiting, held: [], error: waiting === null ? null : 'no TCP address known for the nodes of this topic' };
      const limit = this.deps.limit ?? 50;
      reader = new Reader(topic, tcpAddresses, limit, this.deps.logger, this.deps.tls);
      this.readers.set(topic, reader);
      if (waiting !== null && waiting > 0) await reader.holding(Math.min(waiting, limit), FIRST_VIEW_WAIT_MS);
    }
    reader.lastViewedAt = Date.now();
    const held = [...reader.held.values()].map((entry) => entry.view).sort((a, b) => a.deadLetteredAt.localeCompare(b.deadLetteredAt));
    return { topic, channel: CONSOLE_CHANNEL, waiting, held, error: null };
  }

  /** Replays (publish, then FIN) or discards (FIN) one held dead letter. */
  async act(topic: string, id: string, action: 'replay' | 'discard'): Promise<ActionResult> {
    const held = this.readers.get(topic)?.held.get(id);
    if (held === undefined) return { ok: false, errors: ['that dead letter is no longer held: reload the list'] };
    if (action === 'replay') {
      if (held.replay === undefined) return { ok: false, errors: ['not a dead-letter envelope: nothing to replay'] };
      const { topic: original, task, channel, body, encoding } = held.replay;
      const nodes = this.deps.model.nodesWithTopic(original);
      const node = nodes[0] ?? [...this.deps.model.nodes.values()].find((n) => n.up)?.address;
      if (node === undefined) return { ok: false, errors: ['no nsqd to publish the replay to'] };
      // The reserved key first: workers recognise a replay by its first bytes.
      // With the dead letter's channel: another worker of the topic with a task of that name leaves it.
      const envelope = JSON.stringify({ __nsqworker_replay: { task, channel, dead_letter_id: id, replayed_at: new Date().toISOString() }, body, body_encoding: encoding });
      try {
        await this.deps.upstream.post(`http://${node}/pub?topic=${encodeURIComponent(original)}`, envelope);
      } catch (error) {
        return { ok: false, errors: [`publish to ${original} on ${node}: ${(error as Error).message}`] };
      }
    }
    held.answer(true);
    return { ok: true, errors: [] };
  }

  async close(): Promise<void> {
    clearInterval(this.idleTimer);
    const readers = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(readers.map((reader) => reader.close()));
  }
}

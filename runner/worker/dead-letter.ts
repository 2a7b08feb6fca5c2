/**
 * The envelope a message is dead-lettered in: where it came from, how often it was tried, why it
 * was given up on, and the original body (as text when it is UTF-8, else base64).
 */
import type { Message } from '../../client/message.ts';

export type DeadLetterEnvelope = {
  topic: string;
  channel: string;
  task: string;
  message_id: string;
  attempts: number;
  /** nsqd's publish time in nanoseconds: beyond 2^53, so a bigint, written as exact JSON digits. */
  timestamp: bigint;
  /** The same time in milliseconds, which a JavaScript reader can hold exactly. */
  timestamp_ms: number;
  error: string;
  body: string;
  body_encoding: 'utf8' | 'base64';
  dead_lettered_at: string;
  /**
   * Written (true) only for a message the worker rejected (its body schema or `validate`) before any
   * task ran: `task` is then the first task, the one that dead-lettered it, and a replay runs every task.
   */
  rejected?: true;
};

function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

export function deadLetterEnvelope(source: {
  topic: string;
  channel: string;
  task: string;
  message: Pick<Message, 'id' | 'attempts' | 'exactTimestampNs' | 'body'>;
  error: string;
  rejected?: boolean;
}): DeadLetterEnvelope {
  const { message } = source;
  const utf8 = isUtf8(message.body);
  const timestamp = message.exactTimestampNs;
  return {
    topic: source.topic,
    channel: source.channel,
    task: source.task,
    message_id: message.id,
    attempts: message.attempts,
    timestamp,
    timestamp_ms: Number(timestamp / 1_000_000n),
    error: source.error,
    body: utf8 ? message.body.toString('utf8') : message.body.toString('base64'),
    body_encoding: utf8 ? 'utf8' : 'base64',
    dead_lettered_at: new Date().toISOString(),
    ...(source.rejected === true ? { rejected: true as const } : {}),
  };
}

/**
 * The envelope as JSON text. JSON.stringify cannot write a bigint (and a number would round the
 * nanoseconds' last digits), so each field is written in turn and the bigint as its decimal digits,
 * which JSON readers with big-number support (Go, Python, jq) read exactly.
 */
export function deadLetterJson(envelope: DeadLetterEnvelope): string {
  const fields = Object.entries(envelope).map(
    ([key, value]) => `${JSON.stringify(key)}:${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)}`,
  );
  return `{${fields.join(',')}}`;
}

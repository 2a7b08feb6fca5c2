/**
 * The envelope a message is dead-lettered in: where it came from, how often it was tried, why it
 * was given up on, and the original body (as text when it is UTF-8, else base64).
 */
import type { Message } from '../../client/message.ts';

// A type alias, not an interface: it must be assignable to a JSON publish body.
export type DeadLetterEnvelope = {
  topic: string;
  channel: string;
  task: string;
  message_id: string;
  attempts: number;
  timestamp: number;
  error: string;
  body: string;
  body_encoding: 'utf8' | 'base64';
  dead_lettered_at: string;
};

function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

export function deadLetterEnvelope(source: { topic: string; channel: string; task: string; message: Message; error: string }): DeadLetterEnvelope {
  const { message } = source;
  const utf8 = isUtf8(message.body);
  return {
    topic: source.topic,
    channel: source.channel,
    task: source.task,
    message_id: message.id,
    attempts: message.attempts,
    timestamp: message.timestamp,
    error: source.error,
    body: utf8 ? message.body.toString('utf8') : message.body.toString('base64'),
    body_encoding: utf8 ? 'utf8' : 'base64',
    dead_lettered_at: new Date().toISOString(),
  };
}

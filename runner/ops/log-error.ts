/**
 * How a logged error (`log.warn({ err })`) is written: pino's own serializer (type, message, stack,
 * the error's own fields), but its message names each cause once. pino appends every cause's message
 * to the error's (`pino-std-serializers`' messageWithCauses), and this package's errors already say
 * their cause (`127.0.0.1:4150: connect ECONNREFUSED 127.0.0.1:4150`, the cause being Node's `connect
 * ECONNREFUSED 127.0.0.1:4150`), so a refused connection read its reason three times in one line. A
 * cause whose message does not end the text yet is still appended, as pino does.
 */
import pino from 'pino';

type SerializedError = ReturnType<typeof pino.stdSerializers.err>;

/**
 * The message of `error` and its causes (through `cause`, as pino follows them: any object with a
 * string `message`), each said once: a cause whose message already ends the text (`…: <cause>`) is
 * not appended again.
 */
export function messageOnce(error: Error): string {
  let text = error.message;
  const seen = new Set<unknown>([error]);
  for (let cause = messageHolder(error.cause); cause !== undefined && !seen.has(cause); cause = messageHolder(cause.cause)) {
    seen.add(cause);
    if (cause.message !== '' && text !== cause.message && !text.endsWith(`: ${cause.message}`)) text += `: ${cause.message}`;
  }
  return text;
}

/** `value` when it carries a string `message` (pino's test of a cause), else undefined. */
function messageHolder(value: unknown): { message: string; cause?: unknown } | undefined {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string' ? (value as { message: string; cause?: unknown }) : undefined;
}

/** pino's `err` serializer with {@link messageOnce} for the message. */
export function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as SerializedError | unknown;
  if (!(error instanceof Error) || typeof serialized !== 'object' || serialized === null) return serialized;
  (serialized as { message: string }).message = messageOnce(error);
  return serialized;
}

/**
 * The replay envelope: a dead letter sent back to its original topic for one task only. Every task of
 * the worker receives it (each has its own channel); the named task runs on the original body, the
 * others finish it untouched, so a worker's healthy tasks do not run a second time. A rejected
 * message's replay names {@link EVERY_TASK}: no task ran it, so each does.
 *
 * ```json
 * {"__nsqworker_replay":{"task":"store","dead_letter_id":"0a1b…","replayed_at":"2026-11-30T21:30:00.000Z"},
 *  "body":"{\"path\":\"/home\"}","body_encoding":"utf8"}
 * ```
 *
 * The reserved key comes first, so a message is recognised by its first bytes without parsing every
 * body the worker receives.
 */

export const REPLAY_KEY = '__nsqworker_replay';
/**
 * The task of a replay for every task: the dead letter of a message the worker rejected (its body
 * schema or `validate`) before any task ran, which each task is to run once it is let through.
 */
export const EVERY_TASK = '*';
const PREFIX = Buffer.from(`{"${REPLAY_KEY}":`);

// A type alias, not an interface: it must be assignable to a JSON publish body.
export type ReplayEnvelope = {
  /** `channel`: the dead letter's (the task channel it failed on); absent in envelopes written before it was. */
  [REPLAY_KEY]: { task: string; channel?: string; dead_letter_id: string; replayed_at: string };
  body: string;
  body_encoding: 'utf8' | 'base64';
};

export interface Replay {
  task: string;
  /** The task channel the dead letter came from, when the envelope says. */
  channel: string | undefined;
  body: Buffer;
}

/**
 * Whether a worker consuming channel `workerChannel` (its task channels are it or `<it>.<task>`) is
 * the one a replay is for: every worker of the topic receives it, and a task of the same name in
 * another worker must not run it again. An envelope without a channel is taken as this worker's.
 * (A worker whose channel is another's with a dot and more, `email.x` beside `email`, is not told
 * apart by this.)
 */
export function isOwnReplay(replay: Replay, workerChannel: string): boolean {
  return replay.channel === undefined || replay.channel === workerChannel || replay.channel.startsWith(`${workerChannel}.`);
}

/** The replay a message carries, or undefined for an ordinary message (or a malformed envelope). */
export function readReplay(body: Buffer): Replay | undefined {
  // This runs for every message a worker receives: two bytes rule out almost every body (the '{' and
  // the first '_'), before a comparison in place (no slice) of the whole prefix.
  if (body.length < PREFIX.length || body[0] !== PREFIX[0] || body[2] !== PREFIX[2] || PREFIX.compare(body, 0, PREFIX.length) !== 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const envelope = parsed as Partial<ReplayEnvelope>;
  const task = envelope[REPLAY_KEY]?.task;
  const channel = envelope[REPLAY_KEY]?.channel;
  if (typeof task !== 'string' || typeof envelope.body !== 'string') return undefined;
  return { task, channel: typeof channel === 'string' ? channel : undefined, body: Buffer.from(envelope.body, envelope.body_encoding === 'base64' ? 'base64' : 'utf8') };
}

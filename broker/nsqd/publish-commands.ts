/**
 * PUB, MPUB and DPUB, with nsqd v1.3.0's checks in its order (`nsqd/protocol_v2.go`), the body
 * errors shared with IDENTIFY and AUTH, and the auth check each publish makes.
 */
import type { Command } from '../../protocol/command-parser.ts';
import { parseMpubRanges, MpubFormatError } from '../../protocol/commands.ts';
import { ErrorCode, ProtocolError } from '../../protocol/errors.ts';
import { isValidTopicName } from '../../protocol/names.ts';
import { checkAuth } from './auth-commands.ts';
import { durationNs, parseBase10 } from './base10.ts';
import type { ClientConnection } from './client-connection.ts';
import { goQuote } from './go-quote.ts';
import { groupCommit } from './group-commit.ts';

const invalid = (description: string): ProtocolError => new ProtocolError(ErrorCode.Invalid, description);

export function checkTopicName(name: string, command: string, code: string = ErrorCode.BadTopic): void {
  if (!isValidTopicName(name)) throw new ProtocolError(code, `${command} topic name ${goQuote(name)} is not valid`);
}

/** nsqd's code and words for the errors of one kind of body. */
interface BodyTexts {
  code: string;
  tooBig: string;
  invalid: string;
  readSize: string;
  /** Undefined for MPUB: nsqd reads its messages one by one, so a cut body fails on the message it cuts. */
  readBody: string | undefined;
}

const MESSAGE_BODY: BodyTexts = {
  code: ErrorCode.BadMessage,
  tooBig: 'message too big',
  invalid: 'invalid message body size',
  readSize: 'failed to read message body size',
  readBody: 'failed to read message body',
};
export const COMMAND_BODY: BodyTexts = {
  code: ErrorCode.BadBody,
  tooBig: 'body too big',
  invalid: 'invalid body size',
  readSize: 'failed to read body size',
  readBody: 'failed to read body',
};
const MPUB_BODY: BodyTexts = { ...COMMAND_BODY, readBody: undefined };

/**
 * The body of a body command, or nsqd's error for a size out of bounds, or for a size or body the
 * stream ended in (the client half-closed: nsqd's read fails at EOF and it answers before closing).
 */
export function requireBody(command: Command, name: string, max: number, texts: BodyTexts): Buffer {
  if (command.truncated === 'size') throw new ProtocolError(texts.code, `${name} ${texts.readSize}`);
  if (command.truncated === 'body' && texts.readBody !== undefined) throw new ProtocolError(texts.code, `${name} ${texts.readBody}`);
  if (command.body !== undefined) return command.body;
  const size = command.bodySize;
  if (size > max) throw new ProtocolError(texts.code, `${name} ${texts.tooBig} ${size} > ${max}`);
  throw new ProtocolError(texts.code, `${name} ${texts.invalid} ${size}`);
}

/** A put the topic could not take (a failed disk write): nsqd answers `E_PUB_FAILED PUB failed <err>`, fatal. */
function putFailed(code: string, command: string, error: unknown): ProtocolError {
  return new ProtocolError(code, `${command} failed ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** PUB's checks before its body: returns the topic name. */
export function pubLine(params: readonly string[]): string {
  if (params.length < 2) throw invalid('PUB insufficient number of parameters');
  checkTopicName(params[1]!, 'PUB');
  return params[1]!;
}

/** MPUB's checks before its body (its auth check aside): returns the topic name. */
export function mpubLine(params: readonly string[]): string {
  if (params.length < 2) throw invalid('MPUB insufficient number of parameters');
  // nsqd really does put the code twice in this one description.
  checkTopicName(params[1]!, `${ErrorCode.BadTopic} MPUB`);
  return params[1]!;
}

/** DPUB's checks before its body: the topic name and the delay, ms. */
export function dpubLine(params: readonly string[], maxReqTimeoutMs: number): { topicName: string; delay: number } {
  if (params.length < 3) throw invalid('DPUB insufficient number of parameters');
  const topicName = params[1]!;
  checkTopicName(topicName, 'DPUB');
  const parsedDelay = parseBase10(params[2]!);
  if (parsedDelay === undefined) throw invalid(`DPUB could not parse timeout ${params[2]}`);
  const outOfRange =
    typeof parsedDelay === 'number'
      ? parsedDelay > maxReqTimeoutMs
      : durationNs(parsedDelay) < 0n || durationNs(parsedDelay) > BigInt(maxReqTimeoutMs) * 1_000_000n;
  if (outOfRange) throw invalid(`DPUB timeout ${parsedDelay} out of range 0-${maxReqTimeoutMs}`);
  return { topicName, delay: Number(parsedDelay) };
}

export function publish(client: ClientConnection, command: Command): Promise<void> | void {
  const topicName = pubLine(command.params);
  const body = requireBody(command, 'PUB', client.nsqd.options.maxMsgSize, MESSAGE_BODY);
  // With auth off (or a grant still valid) this is one call: no closure per message.
  const pending = checkAuth(client, 'PUB', topicName, '');
  if (pending === undefined) return publishOne(client, topicName, body);
  return pending.then(() => publishOne(client, topicName, body));
}

function publishOne(client: ClientConnection, topicName: string, body: Buffer): void {
  const { nsqd } = client;
  if (nsqd.exiting) throw new ProtocolError(ErrorCode.PubFailed, 'PUB failed exiting');
  const topic = nsqd.getOrCreateTopic(topicName);
  try {
    topic.publish(body);
  } catch (error) {
    throw putFailed(ErrorCode.PubFailed, 'PUB', error);
  }
  acknowledge(client, topicName, 1);
}

export function publishMany(client: ClientConnection, command: Command): Promise<void> | void {
  const topicName = mpubLine(command.params);
  // MPUB checks auth before it reads the body (PUB and DPUB after): on its line (checkBodyLine) where it
  // can answer at once, and here for a line read while an earlier command waited or a grant to fetch again.
  const pending = checkAuth(client, 'MPUB', topicName, '');
  if (pending === undefined) return publishBatch(client, command, topicName);
  return pending.then(() => publishBatch(client, command, topicName));
}

function publishBatch(client: ClientConnection, command: Command, topicName: string): void {
  // nsqd creates the topic before it reads the body: it exists even if the batch is then refused.
  if (!client.nsqd.exiting) client.nsqd.getOrCreateTopic(topicName);
  const { maxBodySize, maxMsgSize } = client.nsqd.options;
  const body = requireBody(command, 'MPUB', maxBodySize, MPUB_BODY);
  let ranges: number[];
  try {
    ranges = parseMpubRanges(body, { maxBodySize, maxMsgSize });
  } catch (error) {
    if (error instanceof MpubFormatError) throw new ProtocolError(error.code, error.description);
    throw error;
  }
  const { nsqd } = client;
  if (nsqd.exiting) throw new ProtocolError(ErrorCode.MpubFailed, 'MPUB failed exiting');
  const topic = nsqd.getOrCreateTopic(topicName);
  try {
    topic.publishAll(body, ranges);
  } catch (error) {
    throw putFailed(ErrorCode.MpubFailed, 'MPUB', error);
  }
  acknowledge(client, topicName, ranges.length / 2);
}

export function publishDeferred(client: ClientConnection, command: Command): Promise<void> | void {
  const { maxReqTimeoutMs, maxMsgSize } = client.nsqd.options;
  const { topicName, delay } = dpubLine(command.params, maxReqTimeoutMs);
  const body = requireBody(command, 'DPUB', maxMsgSize, MESSAGE_BODY);
  const pending = checkAuth(client, 'DPUB', topicName, '');
  if (pending === undefined) return publishLater(client, topicName, body, delay);
  return pending.then(() => publishLater(client, topicName, body, delay));
}

function publishLater(client: ClientConnection, topicName: string, body: Buffer, delay: number): void {
  const { nsqd } = client;
  if (nsqd.exiting) throw new ProtocolError(ErrorCode.DpubFailed, 'DPUB failed exiting');
  const topic = nsqd.getOrCreateTopic(topicName);
  try {
    topic.publish(body, delay);
  } catch (error) {
    throw putFailed(ErrorCode.DpubFailed, 'DPUB', error);
  }
  acknowledge(client, topicName, 1);
}

/**
 * A publish of `count` messages to `topicName` was taken: counted for /stats, and answered OK. In
 * sync mode the OK leaves only after the fsync of what it acknowledges (group-commit.ts), so the
 * client waits for the commit before the OK is appended: an unbuffered connection's OK is flushed,
 * running the commit, as soon as it is appended.
 */
function acknowledge(client: ClientConnection, topicName: string, count: number): void {
  client.recordPublish(topicName, count);
  groupCommit.awaitCommit(client);
  client.sendResponse('OK');
}

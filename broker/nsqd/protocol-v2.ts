/**
 * The commands of protocol V2, carried out for one client with nsqd's checks, in nsqd's order,
 * with nsqd's error codes and descriptions. Each handler throws a ProtocolError to answer with an
 * error frame; the connection decides from its code whether to close.
 */
import { parseMpubBody, MpubFormatError } from '../../protocol/commands.ts';
import type { Command } from '../../protocol/command-parser.ts';
import { ErrorCode, ProtocolError } from '../../protocol/errors.ts';
import { MESSAGE_ID_LENGTH } from '../../protocol/message.ts';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { ClientState, type ClientConnection } from './client-connection.ts';
import { goQuote } from './go-quote.ts';
import { identifyResponse, negotiate, parseIdentifyBody } from './identify.ts';

const invalid = (description: string): ProtocolError => new ProtocolError(ErrorCode.Invalid, description);

const DIGITS = /^\d*$/;
/** Up to 12 digits a value is exact as a number, and as nanoseconds (x 1e6) it stays inside int64. */
const SHORT_DIGITS = 12;

/**
 * Go's ByteToBase10: unsigned decimal digits only (an empty string is 0). Short values are numbers;
 * longer ones are the uint64 Go computes, wrapping past 2^64, so huge values get nsqd's answers (and
 * the numbers in its error texts) exactly without costing the common case a bigint.
 */
function parseBase10(text: string): number | bigint | undefined {
  if (!DIGITS.test(text)) return undefined;
  return text.length <= SHORT_DIGITS ? Number(text || '0') : BigInt.asUintN(64, BigInt(text));
}

/** nsqd's `time.Duration(ms) * time.Millisecond`: int64 nanoseconds, which overflow (even negative) for huge ms. */
const durationNs = (ms: bigint): bigint => BigInt.asIntN(64, ms * 1_000_000n);

export function handleCommand(client: ClientConnection, command: Command): void {
  switch (command.name) {
    case 'FIN':
      return finish(client, command.params);
    case 'RDY':
      return ready(client, command.params);
    case 'REQ':
      return requeue(client, command.params);
    case 'PUB':
      return publish(client, command);
    case 'MPUB':
      return publishMany(client, command);
    case 'DPUB':
      return publishDeferred(client, command);
    case 'NOP':
      return;
    case 'TOUCH':
      return touch(client, command.params);
    case 'SUB':
      return subscribe(client, command.params);
    case 'CLS':
      return startClose(client);
    case 'IDENTIFY':
      return identify(client, command);
    case 'AUTH':
      return auth(client, command);
    default:
      throw invalid(`invalid command ${command.name}`);
  }
}

function identify(client: ClientConnection, command: Command): void {
  if (client.state !== ClientState.Init) throw invalid('cannot IDENTIFY in current state');
  const body = requireBody(command, 'IDENTIFY', client.nsqd.options.maxBodySize, COMMAND_BODY);
  const request = parseIdentifyBody(body);
  const options = client.nsqd.options;
  const settings = negotiate(client.settings, request, options);
  client.applySettings(settings);
  client.sendResponse(request.feature_negotiation === true ? JSON.stringify(identifyResponse(settings, options)) : 'OK');
}

function auth(client: ClientConnection, command: Command): void {
  if (client.state !== ClientState.Init) throw invalid('cannot AUTH in current state');
  if (command.params.length !== 1) throw invalid('AUTH invalid number of parameters');
  requireBody(command, 'AUTH', client.nsqd.options.maxBodySize, COMMAND_BODY);
  throw new ProtocolError(ErrorCode.AuthDisabled, 'AUTH disabled');
}

function subscribe(client: ClientConnection, params: string[]): void {
  if (client.state !== ClientState.Init) throw invalid('cannot SUB in current state');
  if (client.settings.heartbeatIntervalMs <= 0) throw invalid('cannot SUB with heartbeats disabled');
  if (params.length < 3) throw invalid('SUB insufficient number of parameters');
  const topicName = params[1]!;
  const channelName = params[2]!;
  if (!isValidTopicName(topicName)) throw new ProtocolError(ErrorCode.BadTopic, `SUB topic name ${goQuote(topicName)} is not valid`);
  if (!isValidChannelName(channelName)) {
    throw new ProtocolError(ErrorCode.BadChannel, `SUB channel name ${goQuote(channelName)} is not valid`);
  }
  const { nsqd } = client;
  if (nsqd.exiting) throw new ProtocolError(ErrorCode.SubFailed, 'SUB failed exiting');
  const topic = nsqd.getOrCreateTopic(topicName);
  const channel = topic.getOrCreateChannel(channelName);
  const limit = nsqd.options.maxChannelConsumers;
  if (limit > 0 && channel.subscribers.length >= limit) {
    throw new ProtocolError(ErrorCode.SubFailed, `SUB failed consumers for ${topicName}:${channelName} exceeds limit of ${limit}`);
  }
  channel.addSubscriber(client);
  client.topic = topic;
  client.channel = channel;
  client.state = ClientState.Subscribed;
  client.sendResponse('OK');
}

function ready(client: ClientConnection, params: string[]): void {
  // A closing client's RDY is ignored: it is draining.
  if (client.state === ClientState.Closing) return;
  if (client.state !== ClientState.Subscribed) throw invalid('cannot RDY in current state');
  let count = 1;
  if (params.length > 1) {
    const parsed = parseBase10(params[1]!);
    if (parsed === undefined) throw invalid(`RDY could not parse count ${params[1]}`);
    // nsqd reads the count as int64: past 2^63 it is negative, and out of range.
    const signed = typeof parsed === 'number' ? parsed : BigInt.asIntN(64, parsed);
    const max = client.nsqd.options.maxRdyCount;
    if (signed < 0 || signed > max) throw invalid(`RDY count ${signed} out of range 0-${max}`);
    count = Number(signed);
  }
  client.readyCount = count;
  client.channel?.pump();
}

function messageIdParam(client: ClientConnection, params: string[], command: string, minParams: number): string {
  if (client.state !== ClientState.Subscribed && client.state !== ClientState.Closing) {
    throw invalid(`cannot ${command} in current state`);
  }
  if (params.length < minParams) throw invalid(`${command} insufficient number of params`);
  const id = params[1]!;
  if (id.length !== MESSAGE_ID_LENGTH) throw invalid('invalid message ID');
  return id;
}

function finish(client: ClientConnection, params: string[]): void {
  const id = messageIdParam(client, params, 'FIN', 2);
  client.channel?.finish(client, id);
}

function requeue(client: ClientConnection, params: string[]): void {
  const id = messageIdParam(client, params, 'REQ', 3);
  const delay = parseBase10(params[2]!);
  if (delay === undefined) throw invalid(`REQ could not parse timeout ${params[2]}`);
  // Clamped, never refused: the channel caps it at max-req-timeout, and a huge delay whose nanoseconds
  // overflow negative counts as 0, as in nsqd.
  const delayMs = typeof delay === 'number' ? delay : durationNs(delay) < 0n ? 0 : Number(delay);
  client.channel?.requeue(client, id, delayMs);
}

function touch(client: ClientConnection, params: string[]): void {
  const id = messageIdParam(client, params, 'TOUCH', 2);
  client.channel?.touch(client, id);
}

function startClose(client: ClientConnection): void {
  if (client.state !== ClientState.Subscribed) throw invalid('cannot CLS in current state');
  client.readyCount = 0;
  client.state = ClientState.Closing;
  client.sendResponse('CLOSE_WAIT');
}

function checkTopicName(name: string, command: string, code: string = ErrorCode.BadTopic): void {
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
const COMMAND_BODY: BodyTexts = {
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
function requireBody(command: Command, name: string, max: number, texts: BodyTexts): Buffer {
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

function publish(client: ClientConnection, command: Command): void {
  const { params } = command;
  if (params.length < 2) throw invalid('PUB insufficient number of parameters');
  const topicName = params[1]!;
  checkTopicName(topicName, 'PUB');
  const body = requireBody(command, 'PUB', client.nsqd.options.maxMsgSize, MESSAGE_BODY);
  const { nsqd } = client;
  if (nsqd.exiting) throw new ProtocolError(ErrorCode.PubFailed, 'PUB failed exiting');
  const topic = nsqd.getOrCreateTopic(topicName);
  try {
    topic.publish(body);
  } catch (error) {
    throw putFailed(ErrorCode.PubFailed, 'PUB', error);
  }
  client.recordPublish(topicName, 1);
  client.sendResponse('OK');
}

function publishMany(client: ClientConnection, command: Command): void {
  const { params } = command;
  if (params.length < 2) throw invalid('MPUB insufficient number of parameters');
  const topicName = params[1]!;
  // nsqd really does put the code twice in this one description.
  checkTopicName(topicName, `${ErrorCode.BadTopic} MPUB`);
  // nsqd creates the topic before it reads the body: it exists even if the batch is then refused.
  if (!client.nsqd.exiting) client.nsqd.getOrCreateTopic(topicName);
  const { maxBodySize, maxMsgSize } = client.nsqd.options;
  const body = requireBody(command, 'MPUB', maxBodySize, MPUB_BODY);
  let bodies: Buffer[];
  try {
    bodies = parseMpubBody(body, { maxBodySize, maxMsgSize });
  } catch (error) {
    if (error instanceof MpubFormatError) throw new ProtocolError(error.code, error.description);
    throw error;
  }
  const { nsqd } = client;
  if (nsqd.exiting) throw new ProtocolError(ErrorCode.MpubFailed, 'MPUB failed exiting');
  const topic = nsqd.getOrCreateTopic(topicName);
  try {
    for (const messageBody of bodies) topic.publish(messageBody);
  } catch (error) {
    throw putFailed(ErrorCode.MpubFailed, 'MPUB', error);
  }
  client.recordPublish(topicName, bodies.length);
  client.sendResponse('OK');
}

function publishDeferred(client: ClientConnection, command: Command): void {
  const { params } = command;
  if (params.length < 3) throw invalid('DPUB insufficient number of parameters');
  const topicName = params[1]!;
  checkTopicName(topicName, 'DPUB');
  const parsedDelay = parseBase10(params[2]!);
  if (parsedDelay === undefined) throw invalid(`DPUB could not parse timeout ${params[2]}`);
  const { maxReqTimeoutMs, maxMsgSize } = client.nsqd.options;
  const outOfRange =
    typeof parsedDelay === 'number'
      ? parsedDelay > maxReqTimeoutMs
      : durationNs(parsedDelay) < 0n || durationNs(parsedDelay) > BigInt(maxReqTimeoutMs) * 1_000_000n;
  if (outOfRange) throw invalid(`DPUB timeout ${parsedDelay} out of range 0-${maxReqTimeoutMs}`);
  const delay = Number(parsedDelay);
  const body = requireBody(command, 'DPUB', maxMsgSize, MESSAGE_BODY);
  const { nsqd } = client;
  if (nsqd.exiting) throw new ProtocolError(ErrorCode.DpubFailed, 'DPUB failed exiting');
  const topic = nsqd.getOrCreateTopic(topicName);
  try {
    topic.publish(body, delay);
  } catch (error) {
    throw putFailed(ErrorCode.DpubFailed, 'DPUB', error);
  }
  client.recordPublish(topicName, 1);
  client.sendResponse('OK');
}

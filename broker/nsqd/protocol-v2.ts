/**
 * The commands of protocol V2, carried out for one client with nsqd's checks, in nsqd's order,
 * with nsqd's error codes and descriptions. Each handler throws a ProtocolError to answer with an
 * error frame; the connection decides from its code whether to close.
 */
import type { Command } from '../../protocol/command-parser.ts';
import { ErrorCode, ProtocolError } from '../../protocol/errors.ts';
import { MESSAGE_ID_LENGTH } from '../../protocol/message.ts';
import { emptyMessageKey, keyOfText, type MessageKey } from '../../protocol/message-id-hex.ts';
import { isValidChannelName, isValidTopicName } from '../../protocol/names.ts';
import { ClientState, type ClientConnection, type CommandProtocol } from './client-connection.ts';
import { goQuote } from './go-quote.ts';
import { identifyResponse, negotiate, negotiateFeatures, parseIdentifyBody } from './identify.ts';
import { authenticate, checkAuth, checkAuthNow } from './auth-commands.ts';
import { hasUpgrade, upgradeClient } from './tls-upgrade.ts';
import { parseBase10, durationNs } from './base10.ts';
import { COMMAND_BODY, dpubLine, mpubLine, publish, publishDeferred, publishMany, pubLine, requireBody } from './publish-commands.ts';

const invalid = (description: string): ProtocolError => new ProtocolError(ErrorCode.Invalid, description);

/**
 * Carries out one command. Returns a promise when the answer must wait (AUTH, an expired grant
 * fetched again, a stream upgrade); the connection reads nothing else until it settles.
 */
export function handleCommand(client: ClientConnection, command: Command): Promise<void> | void {
  enforceTlsPolicy(client, command.name);
  switch (command.name) {
    case 'FIN':
      return finish(client, command);
    case 'RDY':
      return ready(client, command.params);
    case 'REQ':
      return requeue(client, command);
    case 'PUB':
      return publish(client, command);
    case 'MPUB':
      return publishMany(client, command);
    case 'DPUB':
      return publishDeferred(client, command);
    case 'NOP':
      return;
    case 'TOUCH':
      return touch(client, command);
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

/**
 * nsqd's checks of a body command's line, made before it reads the size and body (the TLS policy, the
 * state, the parameters): a bad line is answered at once, not once a body that may never come has
 * arrived. The same checks run again with the body, in handleCommand.
 */
export function checkBodyLine(client: ClientConnection, command: Command): void {
  enforceTlsPolicy(client, command.name);
  const { params } = command;
  if (command.name === 'PUB') pubLine(params);
  else if (command.name === 'MPUB') checkAuthNow(client, 'MPUB', mpubLine(params), '');
  else if (command.name === 'DPUB') dpubLine(params, client.nsqd.options.maxReqTimeoutMs);
  else if (command.name === 'IDENTIFY') identifyLine(client);
  else if (command.name === 'AUTH') authLine(client, params);
}

/** nsqd's enforceTLSPolicy: before the TLS upgrade, only IDENTIFY is allowed when TLS is required. */
function enforceTlsPolicy(client: ClientConnection, name: string): void {
  if (name !== 'IDENTIFY' && client.nsqd.options.tlsRequired !== 'false' && !client.transport.tls) {
    throw invalid(`cannot ${name} in current state (TLS required)`);
  }
}

function identifyLine(client: ClientConnection): void {
  if (client.state !== ClientState.Init) throw invalid('cannot IDENTIFY in current state');
}

function authLine(client: ClientConnection, params: readonly string[]): void {
  if (client.state !== ClientState.Init) throw invalid('cannot AUTH in current state');
  if (params.length !== 1) throw invalid('AUTH invalid number of parameters');
}

function identify(client: ClientConnection, command: Command): Promise<void> | void {
  identifyLine(client);
  const body = requireBody(command, 'IDENTIFY', client.nsqd.options.maxBodySize, COMMAND_BODY);
  const request = parseIdentifyBody(body);
  const options = client.nsqd.options;
  const settings = negotiate(client.settings, request, options);
  client.applySettings(settings);
  if (request.feature_negotiation !== true) return client.sendResponse('OK');
  const features = negotiateFeatures(request, options, client.nsqd.tls !== undefined);
  client.sendResponse(JSON.stringify(identifyResponse(settings, options, features)));
  if (hasUpgrade(features)) return upgradeClient(client, features);
}

function auth(client: ClientConnection, command: Command): Promise<void> {
  authLine(client, command.params);
  return authenticate(client, requireBody(command, 'AUTH', client.nsqd.options.maxBodySize, COMMAND_BODY));
}

function subscribe(client: ClientConnection, params: string[]): Promise<void> | void {
  if (client.state !== ClientState.Init) throw invalid('cannot SUB in current state');
  if (client.settings.heartbeatIntervalMs <= 0) throw invalid('cannot SUB with heartbeats disabled');
  if (params.length < 3) throw invalid('SUB insufficient number of parameters');
  const topicName = params[1]!;
  const channelName = params[2]!;
  if (!isValidTopicName(topicName)) throw new ProtocolError(ErrorCode.BadTopic, `SUB topic name ${goQuote(topicName)} is not valid`);
  if (!isValidChannelName(channelName)) {
    throw new ProtocolError(ErrorCode.BadChannel, `SUB channel name ${goQuote(channelName)} is not valid`);
  }
  const pending = checkAuth(client, 'SUB', topicName, channelName);
  if (pending === undefined) return join(client, topicName, channelName);
  return pending.then(() => join(client, topicName, channelName));
}

function join(client: ClientConnection, topicName: string, channelName: string): void {
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

/** Where messageIdParam puts an id given as text (read at once by the channel). */
const idKey = emptyMessageKey();

/** The command's message id, with nsqd's checks in its order (the state, the parameters, the id's length). */
function messageIdParam(client: ClientConnection, command: Command, minParams: number): MessageKey {
  const name = command.name;
  if (client.state !== ClientState.Subscribed && client.state !== ClientState.Closing) {
    throw invalid(`cannot ${name} in current state`);
  }
  // A FIN line of 16 hex digits, parsed already (command-parser.ts).
  if (command.finId !== undefined) return command.finId;
  const params = command.params;
  if (params.length < minParams) throw invalid(`${name} insufficient number of params`);
  const id = params[1]!;
  if (id.length !== MESSAGE_ID_LENGTH) throw invalid('invalid message ID');
  return keyOfText(id, idKey);
}

function finish(client: ClientConnection, command: Command): void {
  const id = messageIdParam(client, command, 2);
  client.channel?.finish(client, id);
}

function requeue(client: ClientConnection, command: Command): void {
  const id = messageIdParam(client, command, 3);
  const params = command.params;
  const delay = parseBase10(params[2]!);
  if (delay === undefined) throw invalid(`REQ could not parse timeout ${params[2]}`);
  // Clamped, never refused: the channel caps it at max-req-timeout, and a huge delay whose nanoseconds
  // overflow negative counts as 0, as in nsqd.
  const delayMs = typeof delay === 'number' ? delay : durationNs(delay) < 0n ? 0 : Number(delay);
  client.channel?.requeue(client, id, delayMs);
}

function touch(client: ClientConnection, command: Command): void {
  const id = messageIdParam(client, command, 2);
  client.channel?.touch(client, id);
}

function startClose(client: ClientConnection): void {
  if (client.state !== ClientState.Subscribed) throw invalid('cannot CLS in current state');
  client.readyCount = 0;
  client.state = ClientState.Closing;
  client.sendResponse('CLOSE_WAIT');
}

/** Protocol V2 as a client connection runs it. */
export const PROTOCOL_V2: CommandProtocol = { execute: handleCommand, checkBodyLine };

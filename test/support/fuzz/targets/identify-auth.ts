/**
 * Fuzz targets for the JSON bodies of the handshake:
 *
 * - `identify`: an IDENTIFY body as the broker reads it (parse, negotiate every bound, the features,
 *   the JSON answer) and as nsqlookupd reads nsqd's; the broker's answer must be one its own client
 *   accepts, and every negotiated value must lie inside the broker's bounds;
 * - `auth`: an AUTH secret and an auth server's answer as the broker reads them (the grant, its
 *   regular expressions, the https redirect of a 403); a grant allows only what it names.
 */
import { ProtocolError } from '../../../../protocol/errors.ts';
import { encodeAuth } from '../../../../protocol/commands.ts';
import { CommandParser } from '../../../../protocol/command-parser.ts';
import { defaultClientSettings, identifyResponse, negotiate, negotiateFeatures, parseIdentifyBody } from '../../../../broker/nsqd/identify.ts';
import { AuthAnswerError, httpsRedirectPort, isAllowed, parseAuthAnswer } from '../../../../broker/nsqd/auth.ts';
import { BrokerOptionsSchema } from '../../../../broker/nsqd/options.ts';
import { decodeIdentifyBody } from '../../../../broker/lookupd/identify-body.ts';
import { readIdentifyAnswer } from '../../../../client/handshake.ts';
import { identityBody } from '../../../integration/lookupd-helpers.ts';
import { seededRandom } from '../../prng.ts';
import { Fuzz, identifyBody } from '../corpus-broker.ts';
import { invariant, type FuzzTarget } from '../target.ts';

const options = BrokerOptionsSchema.parse({ dataPath: '/nonexistent', deflate: true, snappy: true });

function checkIdentify(body: Buffer): void {
  const lookupd = decodeIdentifyBody(body);
  invariant(lookupd.ok || lookupd.reason === 'decode' || lookupd.reason === 'missing', 'lookupd decoded to nothing');
  const request = parseIdentifyBody(body);
  const settings = negotiate(defaultClientSettings(options, '127.0.0.1'), request, options);
  const { heartbeatIntervalMs, outputBufferSize, outputBufferTimeoutMs, sampleRate, msgTimeoutMs } = settings;
  invariant(heartbeatIntervalMs === 0 || (heartbeatIntervalMs >= 1000 && heartbeatIntervalMs <= options.maxHeartbeatIntervalMs), `heartbeat ${heartbeatIntervalMs}`);
  invariant(outputBufferSize === 1 || (outputBufferSize >= 64 && outputBufferSize <= options.maxOutputBufferSize), `output buffer ${outputBufferSize}`);
  invariant(outputBufferTimeoutMs >= 0 && outputBufferTimeoutMs <= options.maxOutputBufferTimeoutMs, `buffer timeout ${outputBufferTimeoutMs}`);
  invariant(sampleRate >= 0 && sampleRate <= 99, `sample rate ${sampleRate}`);
  invariant(msgTimeoutMs >= 1000 && msgTimeoutMs <= options.maxMsgTimeoutMs, `msg timeout ${msgTimeoutMs}`);
  invariant(typeof settings.clientId === 'string' && typeof settings.userAgent === 'string', 'a name is not a string');
  const features = negotiateFeatures(request, options, false);
  invariant(features.deflateLevel >= 1 && features.deflateLevel <= options.maxDeflateLevel, `deflate level ${features.deflateLevel}`);
  invariant(!(features.snappy && features.deflate), 'both compressions on');
  const answer = Buffer.from(JSON.stringify(identifyResponse(settings, options, features)));
  const read = readIdentifyAnswer('127.0.0.1:4150', answer);
  invariant(!(read instanceof Error), `the client refuses the broker's answer: ${read instanceof Error ? String(read.cause) : ''}`);
  invariant(read.msgTimeoutMs === msgTimeoutMs, 'the client read another msg_timeout');
}

export function identifyTarget(): FuzzTarget {
  return {
    name: 'identify',
    maxLength: 2048,
    coverage: /\/broker\/nsqd\/identify\.ts|\/protocol\/identify\.ts|\/broker\/lookupd\/identify-body\.ts|\/client\/handshake\.ts/,
    dictionary: ['"heartbeat_interval":', '"output_buffer_size":', '"output_buffer_timeout":', '"msg_timeout":', '"sample_rate":', '"deflate_level":',
      '"feature_negotiation":true', '"snappy":true', '"deflate":true', '"tls_v1":true', '"client_id":"x"', 'null', '-1', '1e3', '1.5', '{', '}', ',', '"ſ'],
    seeds() {
      const fuzz = new Fuzz(seededRandom(5));
      const seeds = Array.from({ length: 60 }, () => Buffer.from(JSON.stringify(identifyBody(fuzz))));
      seeds.push(Buffer.from(JSON.stringify(identityBody())), Buffer.from('null'), Buffer.from('{"MSG_TIMEOUT":5000}'));
      return seeds;
    },
    run(input) {
      checkIdentify(input);
    },
    expected: (error) => error instanceof ProtocolError,
    close() {},
  };
}

const NAMES = ['t', 'orders', 'a.b_c-d', 'x#ephemeral', ''];

function checkAuth(input: Buffer): void {
  // The secret: AUTH's body read by the command parser, whatever bytes it holds.
  let secret: Buffer | undefined;
  new CommandParser({ bodyLimits: new Map([['AUTH', 4096]]) }, (command) => void (secret = command.body)).push(encodeAuth(input.subarray(0, 64)));
  invariant(input.length === 0 || secret?.toString('latin1') === input.subarray(0, 64).toString('latin1'), 'the secret changed on the way');
  const port = httpsRedirectPort(input);
  invariant(port === undefined || (Number.isInteger(port) && port > 0 && port < 65536), `redirect port ${port}`);
  const state = parseAuthAnswer(input, 0);
  invariant(state.expiresAtMs > 0, `expiry ${state.expiresAtMs}`);
  for (const grant of state.authorizations) {
    for (const topic of NAMES) {
      for (const channel of NAMES) {
        const allowed = isAllowed({ ...state, authorizations: [grant] }, topic, channel);
        invariant(!allowed || (channel === '' ? grant.publish : grant.subscribe), 'a grant allows what it does not name');
      }
    }
  }
}

export function authTarget(): FuzzTarget {
  const grant = (topic: string, channels: string[], permissions: string[]) => ({ topic, channels, permissions });
  const answers = [
    { ttl: 60, identity: 'i', identity_url: 'u', authorizations: [grant('.*', ['.*'], ['subscribe', 'publish'])] },
    { ttl: 1, authorizations: [grant('^t$', ['c', '(?i)X'], ['publish']), grant('orders', [], ['subscribe'])] },
    { ttl: 0, authorizations: null },
    { ttl: 3600, authorizations: [grant('(?ims)a.b', ['[', '\\d+'], ['admin'])] },
    { message: 'TLS_REQUIRED', https_port: 4152 },
  ];
  return {
    name: 'auth',
    maxLength: 2048,
    coverage: /\/broker\/nsqd\/auth\.ts/,
    dictionary: ['"ttl":', '"authorizations":', '"topic":', '"channels":', '"permissions":', '"subscribe"', '"publish"', '"https_port":', '(?i)', '.*', 'null', '[', ']'],
    seeds: () => answers.map((answer) => Buffer.from(JSON.stringify(answer))),
    run(input) {
      checkAuth(input);
    },
    expected: (error) => error instanceof AuthAnswerError,
    close() {},
  };
}

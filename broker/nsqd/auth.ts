/**
 * The auth server protocol of nsqd v1.3.0 (`internal/auth/authorizations.go`): a GET to each
 * `--auth-http-address` in turn (starting at a random one) with `remote_ip`, `tls`, `secret` and
 * `common_name`; the JSON answer's authorizations (topic and channel regular expressions, unanchored;
 * permissions `subscribe` and `publish`) are kept for `ttl` seconds, then fetched again.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
// zod/mini, as the broker's other schemas (its server bundle takes functions one by one).
import * as z from 'zod/mini';
import { CodedError } from '../../protocol/coded-error.ts';

export type AuthQueryErrorCode = 'E_AUTH_QUERY';
export type AuthAnswerErrorCode = 'E_AUTH_ANSWER';

/** No auth server gave a usable answer; the message lists each failure (it is logged, never sent to the client). */
export class AuthQueryError extends CodedError<AuthQueryErrorCode> {
  override readonly name = 'AuthQueryError';
}

/** An auth server's answer that nsqd would refuse; the message is nsqd's reason. */
export class AuthAnswerError extends CodedError<AuthAnswerErrorCode> {
  override readonly name = 'AuthAnswerError';
}

const strings = z._default(z.nullable(z.array(z.string())), []);
const AuthorizationSchema = z.object({ topic: z._default(z.string(), ''), channels: strings, permissions: strings });
const AuthAnswerSchema = z.object({
  ttl: z._default(z.int(), 0),
  identity: z._default(z.string(), ''),
  identity_url: z._default(z.string(), ''),
  authorizations: z._default(z.nullable(z.array(AuthorizationSchema)), []),
});

export interface Authorization {
  topic: RegExp;
  channels: RegExp[];
  subscribe: boolean;
  publish: boolean;
}

/** What an auth server granted one client, until `expiresAtMs`. */
export interface AuthState {
  identity: string;
  identityUrl: string;
  authorizations: Authorization[];
  expiresAtMs: number;
}

/** The request parameters nsqd sends. */
export interface AuthRequest {
  remoteIp: string;
  tls: boolean;
  /** The AUTH body as the client sent it: one char per byte (latin1). */
  secret: string;
  /** CN of the client's TLS certificate, or ''. */
  commonName: string;
}

export interface AuthQueryOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** CA bundle for https auth servers (`--tls-root-ca-file`). */
  ca?: Buffer;
}

/** Most bytes of an auth server's answer read before giving up on it. */
const MAX_ANSWER_BYTES = 1 << 20;

/** Whether the state lets a client subscribe (`channel` non-empty) or publish (`channel` empty) on a topic. */
export function isAllowed(state: AuthState, topic: string, channel: string): boolean {
  return state.authorizations.some(
    (grant) =>
      (channel === '' ? grant.publish : grant.subscribe) && grant.topic.test(topic) && grant.channels.some((regex) => regex.test(channel)),
  );
}

/** Go RE2's leading flag group, `(?i)` and friends, which JavaScript writes as RegExp flags. */
const LEADING_FLAGS = /^\(\?([ims]+)\)/;

/** An auth server's regular expression (Go RE2 syntax; unanchored), as a RegExp. Throws with nsqd's words. */
function compile(source: string, what: string): RegExp {
  try {
    const flags = LEADING_FLAGS.exec(source);
    return flags === null ? new RegExp(source) : new RegExp(source.slice(flags[0].length), [...new Set(flags[1])].join(''));
  } catch (error) {
    throw new AuthAnswerError('E_AUTH_ANSWER', `unable to compile ${what} ${JSON.stringify(source)} ${(error as Error).message}`, { cause: error });
  }
}

function get(url: URL, options: AuthQueryOptions): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', headers: { Accept: 'application/vnd.nsq; version=1.0' }, ca: options.ca });
    const deadline = setTimeout(() => req.destroy(new Error('request timed out')), options.requestTimeoutMs);
    // The connect timeout bounds the connect alone (nsqd's dialer): a server that answers slowly has
    // the whole request timeout. (http.request's `timeout` is an idle timeout for the socket's life.)
    let connecting: NodeJS.Timeout | undefined;
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      connecting = setTimeout(() => req.destroy(new Error('connect timed out')), options.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(connecting));
    });
    req.on('error', (error) => {
      clearTimeout(deadline);
      clearTimeout(connecting);
      reject(error);
    });
    req.on('response', (res: IncomingMessage) => {
      const pieces: Buffer[] = [];
      let length = 0;
      res.on('data', (piece: Buffer) => {
        length += piece.length;
        if (length > MAX_ANSWER_BYTES) req.destroy(new Error('answer too large'));
        else pieces.push(piece);
      });
      res.on('end', () => {
        clearTimeout(deadline);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(pieces) });
      });
      res.on('error', () => undefined);
    });
    req.end();
  });
}

/** The https port an nsqd-style `403 TLS_REQUIRED` answer names, or undefined. */
export function httpsRedirectPort(body: Buffer): number | undefined {
  let answer: unknown;
  try {
    answer = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const port = typeof answer === 'object' && answer !== null ? (answer as { https_port?: unknown }).https_port : undefined;
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

/** An auth server's 200 answer checked as nsqd checks it. Throws {@link AuthAnswerError} with nsqd's reason. */
export function parseAuthAnswer(body: Buffer, nowMs: number): AuthState {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AuthAnswerError('E_AUTH_ANSWER', 'bad JSON answer', { cause: error });
  }
  const parsed = AuthAnswerSchema.safeParse(json);
  if (!parsed.success) throw new AuthAnswerError('E_AUTH_ANSWER', 'bad JSON answer');
  const data = parsed.data;
  const authorizations = (data.authorizations ?? []).map((grant): Authorization => {
    for (const permission of grant.permissions ?? []) {
      if (permission !== 'subscribe' && permission !== 'publish') throw new AuthAnswerError('E_AUTH_ANSWER', `unknown permission ${permission}`);
    }
    return {
      topic: compile(grant.topic, 'topic'),
      channels: (grant.channels ?? []).map((channel) => compile(channel, 'channel')),
      subscribe: (grant.permissions ?? []).includes('subscribe'),
      publish: (grant.permissions ?? []).includes('publish'),
    };
  });
  if (data.ttl <= 0) throw new AuthAnswerError('E_AUTH_ANSWER', `invalid TTL ${data.ttl} (must be >0)`);
  return { identity: data.identity, identityUrl: data.identity_url, authorizations, expiresAtMs: nowMs + data.ttl * 1000 };
}

/** One auth server: its answer checked as nsqd checks it. Throws with nsqd's reason. */
export async function queryAuthServer(address: string, request: AuthRequest, options: AuthQueryOptions): Promise<AuthState> {
  let url = new URL(address.includes('://') ? address : `http://${address}/auth`);
  url.search = goQueryEncode([
    ['common_name', Buffer.from(request.commonName, 'utf8')],
    ['remote_ip', Buffer.from(request.remoteIp, 'utf8')],
    ['secret', Buffer.from(request.secret, 'latin1')],
    ['tls', Buffer.from(request.tls ? 'true' : 'false')],
  ]);
  let answer = await get(url, options);
  // nsqd's HTTP client follows an nsqd-style TLS_REQUIRED answer to its https port.
  const port = answer.status === 403 && url.protocol === 'http:' ? httpsRedirectPort(answer.body) : undefined;
  if (port !== undefined) {
    url = new URL(url.href);
    url.protocol = 'https:';
    url.port = String(port);
    answer = await get(url, options);
  }
  if (answer.status !== 200) throw new Error(`got response ${answer.status}`);
  return parseAuthAnswer(answer.body, Date.now());
}

/** Tries every auth server once, from a random one on, as nsqd's `QueryAnyAuthd`. Throws {@link AuthQueryError}. */
export async function queryAnyAuthServer(addresses: readonly string[], request: AuthRequest, options: AuthQueryOptions): Promise<AuthState> {
  const failures: string[] = [];
  const start = Math.floor(Math.random() * addresses.length);
  for (let i = 0; i < addresses.length; i++) {
    const address = addresses[(start + i) % addresses.length]!;
    try {
      return await queryAuthServer(address, request, options);
    } catch (error) {
      failures.push(`failed to auth against ${address} - ${(error as Error).message}`);
    }
  }
  throw new AuthQueryError('E_AUTH_QUERY', failures.join('; '));
}

/**
 * Go's url.Values.Encode over raw bytes, keys in the order given (Encode sorts them): the secret
 * reaches the auth server as the very bytes the client sent (URLSearchParams would encode each byte
 * read as latin1 as its UTF-8 form, `é` twice over). QueryEscape keeps `A-Za-z0-9-_.~`, writes a space
 * as `+` and every other byte as `%XX` (net/url's shouldEscape).
 */
function goQueryEncode(pairs: ReadonlyArray<readonly [string, Buffer]>): string {
  const escape = (bytes: Buffer): string => {
    let out = '';
    for (const byte of bytes) {
      const char = String.fromCharCode(byte);
      if (/[A-Za-z0-9\-_.~]/.test(char)) out += char;
      else if (byte === 0x20) out += '+';
      else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    return out;
  };
  return pairs.map(([key, value]) => `${key}=${escape(value)}`).join('&');
}

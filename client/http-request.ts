/**
 * One HTTP(S) request to nsqd or nsqlookupd, with the client's TLS options for https URLs and nsqd's
 * TLS redirect followed: an nsqd run with `--tls-required=true` answers plain HTTP with 403
 * `{"message": "TLS_REQUIRED", "https_port": N}` (`nsqd/http.go`), and the request is sent again,
 * once, to `https://host:N` with the same TLS options. Node's fetch cannot take a CA or a client
 * certificate without a dispatcher package, so this uses node:http and node:https.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { request as httpsRequest } from 'node:https';
import type { TlsOption } from './options.ts';

export interface NsqHttpRequest {
  method?: 'GET' | 'POST';
  body?: Buffer;
  headers?: Record<string, string>;
  /** Aborts the request (a timeout, a close). */
  signal?: AbortSignal;
  /** Fails the request when its TCP connection is not up within this many ms (nsq's --http-client-connect-timeout); none by default. */
  connectTimeoutMs?: number;
  /** TLS for https URLs: true (Node's defaults) or { ca, cert, key, servername, rejectUnauthorized }. */
  tls?: TlsOption;
  /** Most bytes of answer read before giving up (default 16 MiB). */
  maxAnswerBytes?: number;
  /** Whether a plain-HTTP TLS_REQUIRED answer is followed to the https port (default true); false returns it. */
  followTlsRequired?: boolean;
}

export interface NsqHttpResponse {
  status: number;
  text: string;
  /** The URL that answered (the https one after a TLS_REQUIRED redirect). */
  url: URL;
}

function send(url: URL, request: NsqHttpRequest): Promise<NsqHttpResponse> {
  const tls = request.tls === undefined || typeof request.tls === 'boolean' ? {} : request.tls;
  const options = {
    method: request.method ?? 'GET',
    headers: { ...request.headers, ...(request.body === undefined ? {} : { 'Content-Length': String(request.body.length) }) },
    signal: request.signal,
  };
  const maxBytes = request.maxAnswerBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const req = url.protocol === 'https:' ? httpsRequest(url, { ...options, ...tls }) : httpRequest(url, options);
    req.on('error', (error: NodeJS.ErrnoException) => reject(notHttpHint(error, url)));
    if (request.connectTimeoutMs !== undefined) failUnconnectedAfter(req, url, request.connectTimeoutMs);
    req.on('response', (res: IncomingMessage) => {
      const pieces: Buffer[] = [];
      let length = 0;
      res.on('data', (piece: Buffer) => {
        length += piece.length;
        if (length > maxBytes) req.destroy(new Error(`answer larger than ${maxBytes} bytes`));
        else pieces.push(piece);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(pieces).toString('utf8'), url }));
      res.on('error', reject);
    });
    req.end(request.body);
  });
}

/** Destroys `req` with an error naming `url` if its socket has not connected within `timeoutMs`. */
function failUnconnectedAfter(req: ClientRequest, url: URL, timeoutMs: number): void {
  req.once('socket', (socket: Socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => req.destroy(new Error(`${url.host}: no connection within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
  });
}

/** Whether `error` is {@link notHttpHint}'s: the address answered, but not with HTTP. */
export function isNotHttpAnswer(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return error instanceof Error && typeof cause?.code === 'string' && cause.code.startsWith('HPE_');
}

/**
 * An answer that is not HTTP at all is most often nsqd's or lookupd's TCP port given for its HTTP one
 * (nsqd answers `"GET /stats"` with E_BAD_PROTOCOL): Node's "Parse Error: Expected HTTP/" then says so.
 */
function notHttpHint(error: NodeJS.ErrnoException, url: URL): Error {
  if (typeof error.code !== 'string' || !error.code.startsWith('HPE_')) return error;
  return new Error(`${url.host} answered with something other than HTTP (${error.message}): is it an nsqd or lookupd TCP port? Give the HTTP one (nsqd's is 4151 by default, lookupd's 4161)`, { cause: error });
}

/** The `message` of an NSQ HTTP API's error body (`{"message": "TOPIC_NOT_FOUND"}`, `http_api/api_response.go`), or undefined for any other text. */
export function errorMessageOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    return typeof body.message === 'string' ? body.message : undefined;
  } catch {
    return undefined;
  }
}

/** The https port of nsqd's TLS_REQUIRED answer, or undefined for any other answer. */
export function tlsRequiredPort(status: number, text: string): number | undefined {
  if (status !== 403) return undefined;
  try {
    const body = JSON.parse(text) as { message?: unknown; https_port?: unknown };
    return body.message === 'TLS_REQUIRED' && typeof body.https_port === 'number' ? body.https_port : undefined;
  } catch {
    return undefined;
  }
}

/** Sends the request; a plain-HTTP TLS_REQUIRED answer is followed to nsqd's https port. Rejects on a network error. */
export async function nsqHttpRequest(url: string | URL, request: NsqHttpRequest = {}): Promise<NsqHttpResponse> {
  const target = new URL(url);
  const response = await send(target, request);
  const httpsPort = target.protocol === 'http:' && request.followTlsRequired !== false ? tlsRequiredPort(response.status, response.text) : undefined;
  if (httpsPort === undefined) return response;
  const secure = new URL(target.href);
  secure.protocol = 'https:';
  secure.port = String(httpsPort);
  return send(secure, request);
}

/**
 * Publishing through nsqd's HTTP API: one body to `/pub` (optionally deferred), several to
 * `/mpub?binary=true` (`[int32 count]{[int32 size][bytes]}`, no outer size word, unlike TCP MPUB).
 */
import { checkTopic, toBodyBuffer, type PublishBody } from './body.ts';
import { ClientErrorCode, HttpPublishError, NsqClientError } from './errors.ts';
import { errorMessageOf, nsqHttpRequest } from './http-request.ts';
import type { TlsOption } from './options.ts';

export interface HttpPublishOptions {
  /** `/pub` only: deliver after this many ms. */
  deferMs?: number;
  /** Largest body, bytes (default 1 MiB, nsqd's --max-msg-size). */
  maxMessageBytes?: number;
  /** Request timeout, ms (default 10000). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** TLS for an https address, or for the https port an nsqd run with --tls-required=true redirects to. */
  tls?: TlsOption;
}

function baseUrl(httpAddress: string): string {
  return /^https?:\/\//i.test(httpAddress) ? httpAddress.replace(/\/+$/, '') : `http://${httpAddress}`;
}

/**
 * Publishes `bodies` (one body, or an array sent as one atomic `/mpub`) to `topic` through the nsqd
 * at `httpAddress` (`host:port` or a URL). Rejects with {@link HttpPublishError} carrying nsqd's status and reason.
 */
export async function publishHttp(
  httpAddress: string,
  topic: string,
  bodies: PublishBody | readonly PublishBody[],
  options: HttpPublishOptions = {},
): Promise<void> {
  checkTopic(topic);
  const maxBytes = options.maxMessageBytes ?? 1024 * 1024;
  const many = Array.isArray(bodies);
  const url = new URL(`${baseUrl(httpAddress)}/${many ? 'mpub' : 'pub'}`);
  url.searchParams.set('topic', topic);
  let payload: Buffer;
  if (many) {
    const list = bodies as readonly PublishBody[];
    if (list.length === 0) throw new NsqClientError(ClientErrorCode.InvalidBody, 'publishHttp needs at least one body');
    if (options.deferMs !== undefined) throw new NsqClientError(ClientErrorCode.InvalidDelay, 'nsqd has no defer for /mpub');
    const buffers = list.map((b) => toBodyBuffer(b, maxBytes));
    let size = 4;
    for (const b of buffers) size += 4 + b.length;
    payload = Buffer.allocUnsafe(size);
    let offset = payload.writeInt32BE(buffers.length, 0);
    for (const b of buffers) {
      offset = payload.writeInt32BE(b.length, offset);
      offset += b.copy(payload, offset);
    }
    url.searchParams.set('binary', 'true');
  } else {
    payload = toBodyBuffer(bodies as PublishBody, maxBytes);
    if (options.deferMs !== undefined) {
      if (!Number.isInteger(options.deferMs) || options.deferMs < 0) {
        throw new NsqClientError(ClientErrorCode.InvalidDelay, `deferMs must be an integer >= 0, got ${options.deferMs}`);
      }
      url.searchParams.set('defer', String(options.deferMs));
    }
  }
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  let response: { status: number; text: string };
  try {
    response = await nsqHttpRequest(url, {
      method: 'POST',
      body: payload,
      headers: { Accept: 'application/vnd.nsq; version=1.0', 'Content-Type': 'application/octet-stream' },
      signal,
      tls: options.tls,
    });
  } catch (cause) {
    throw new NsqClientError(ClientErrorCode.ConnectionClosed, `HTTP publish to ${url.origin} failed: ${(cause as Error).message}`, { cause });
  }
  const text = response.text;
  if (response.status === 200) return;
  // Not JSON: the raw text is the reason.
  throw new HttpPublishError(response.status, errorMessageOf(text) ?? text);
}

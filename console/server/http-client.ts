/**
 * The console's calls to nsqd and nsqlookupd: one HTTP(S) request each with a deadline, so one broker
 * that stops answering costs a poll at most its timeout and never stalls the others. Through the
 * client's request helper: the `--http-client-tls-*` options for https, and an nsqd run with
 * `--tls-required` (403 TLS_REQUIRED with its https port) asked again over https.
 */
import { nsqHttpRequest } from '../../client/http-request.ts';
import type { TlsOption } from '../../client/options.ts';

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly url: string,
    /** The HTTP status, or 0 when there was no answer (refused, timed out, bad JSON). */
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface UpstreamClient {
  getJson(url: string): Promise<unknown>;
  /** POSTs with an empty body (as nsqadmin does for nsqd's and lookupd's edit endpoints), or with `body` (a /pub). */
  post(url: string, body?: string): Promise<void>;
}

const NSQ_ACCEPT = 'application/vnd.nsq; version=1.0';

async function request(url: string, init: { method: 'GET' | 'POST'; body?: string }, timeoutMs: number, tls: TlsOption | undefined): Promise<string> {
  let answer: { status: number; text: string };
  try {
    answer = await nsqHttpRequest(url, {
      method: init.method,
      headers: { Accept: NSQ_ACCEPT },
      signal: AbortSignal.timeout(timeoutMs),
      ...(init.body === undefined ? {} : { body: Buffer.from(init.body) }),
      ...(tls === undefined ? {} : { tls }),
    });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError' ? `no answer within ${timeoutMs} ms` : (error as Error).message;
    throw new UpstreamError(url, 0, reason, { cause: error });
  }
  if (answer.status < 200 || answer.status > 299) {
    let message = answer.text;
    try {
      message = (JSON.parse(answer.text) as { message?: string }).message ?? answer.text;
    } catch {
      // nsqd answers errors as {"message": ...}; anything else is shown as it came.
    }
    throw new UpstreamError(url, answer.status, `${answer.status} ${message}`.trim());
  }
  return answer.text;
}

export function createUpstreamClient(timeoutMs: number, tls?: TlsOption): UpstreamClient {
  return {
    async getJson(url) {
      const text = await request(url, { method: 'GET' }, timeoutMs, tls);
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new UpstreamError(url, 0, 'answer was not JSON', { cause: error });
      }
    },
    async post(url, body) {
      await request(url, { method: 'POST', ...(body === undefined ? {} : { body }) }, timeoutMs, tls);
    },
  };
}

/**
 * The console's calls to nsqd and nsqlookupd: plain HTTP with a deadline on every request, so one
 * broker that stops answering costs a poll at most its timeout and never stalls the others.
 */

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

async function request(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : ((error as Error & { cause?: Error }).cause?.message ?? (error as Error).message);
    throw new UpstreamError(url, 0, reason, { cause: error });
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // nsqd answers errors as {"message": ...}; anything else is shown as it came.
    }
    throw new UpstreamError(url, response.status, `${response.status} ${message}`.trim());
  }
  return response;
}

export function createUpstreamClient(timeoutMs: number): UpstreamClient {
  return {
    async getJson(url) {
      const response = await request(url, { headers: { Accept: NSQ_ACCEPT } }, timeoutMs);
      try {
        return await response.json();
      } catch (error) {
        throw new UpstreamError(url, 0, 'answer was not JSON', { cause: error });
      }
    },
    async post(url, body) {
      const response = await request(url, { method: 'POST', headers: { Accept: NSQ_ACCEPT }, ...(body === undefined ? {} : { body }) }, timeoutMs);
      await response.arrayBuffer();
    },
  };
}

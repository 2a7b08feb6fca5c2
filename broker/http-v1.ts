/**
 * The response conventions nsqd and nsqlookupd share on their HTTP APIs ("V1" handlers): every
 * response carries `X-NSQ-Content-Type: nsq; version=1.0`, JSON bodies are
 * `application/json; charset=utf-8`, and errors are `{"message":"<TEXT>"}` with a status code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const NSQ_CONTENT_TYPE_HEADER = 'X-NSQ-Content-Type';
export const NSQ_CONTENT_TYPE = 'nsq; version=1.0';

/** An HTTP error answered as nsqd answers it. Handlers throw it; the router writes it. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    /** nsqd's message text, e.g. `MISSING_ARG_TOPIC`. */
    readonly text: string,
  ) {
    super(`${status} ${text}`);
  }
}

/** A 200 with a JSON body. */
export function sendJson(res: ServerResponse, value: unknown, status = 200): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    [NSQ_CONTENT_TYPE_HEADER]: NSQ_CONTENT_TYPE,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** A 200 with a raw text body (`OK`), or an empty one, as Go's V1 writer emits strings. */
export function sendText(res: ServerResponse, text: string, status = 200, v1 = true): void {
  const headers: Record<string, string | number> = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  };
  if (v1) headers[NSQ_CONTENT_TYPE_HEADER] = NSQ_CONTENT_TYPE;
  res.writeHead(status, headers);
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, { message: error.text }, error.status);
}

/**
 * Reads a request body up to `limit` bytes. Resolves with what was read and whether the body went
 * past the limit; it stops buffering there, so an oversized body never costs more than `limit`.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; tooBig: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let tooBig = false;
    req.on('data', (chunk: Buffer) => {
      if (tooBig) return;
      if (length + chunk.length > limit) {
        tooBig = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
      length += chunk.length;
    });
    req.on('end', () => resolve({ body: tooBig ? Buffer.alloc(0) : Buffer.concat(chunks, length), tooBig }));
    req.on('error', reject);
  });
}

/** Go's `strconv.ParseBool`-like reading of `include_clients` style flags: absent or unknown means `fallback`. */
export function parseBoolParam(value: string | null, fallback: boolean): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return fallback;
}

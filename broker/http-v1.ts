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

const GO_ESCAPED = /[<>&\u2028\u2029]/g;
const GO_ESCAPES: Readonly<Record<string, string>> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * JSON as Go's `json.Marshal` writes it: like `JSON.stringify`, but `<`, `>`, `&`, U+2028 and U+2029
 * inside strings are `\u` escapes. (Outside strings JSON has none of these characters.)
 */
export function goJson(value: unknown): string {
  const text = JSON.stringify(value);
  GO_ESCAPED.lastIndex = 0;
  return GO_ESCAPED.test(text) ? text.replace(GO_ESCAPED, (c) => GO_ESCAPES[c]!) : text;
}

/** A 200 with a JSON body. */
export function sendJson(res: ServerResponse, value: unknown, status = 200): void {
  sendRawJson(res, goJson(value), status);
}

/** A JSON body already serialised (for shapes `JSON.stringify` cannot write, such as int64 nanoseconds). */
export function sendRawJson(res: ServerResponse, body: string, status = 200): void {
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

/** A 200 with no data: an empty body and no Content-Type, as Go writes a nil V1 response. */
export function sendEmpty(res: ServerResponse): void {
  res.writeHead(200, { [NSQ_CONTENT_TYPE_HEADER]: NSQ_CONTENT_TYPE, 'Content-Length': 0 });
  res.end();
}

export function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, { message: error.text }, error.status);
}

/** What is read and thrown away after a body went past its limit before the connection is closed (Go's maxPostHandlerReadBytes). */
const DISCARD_AFTER_LIMIT = 256 << 10;

/**
 * Reads a request body up to `limit` bytes. Resolves with what was read and whether the body went
 * past the limit. Past it, it resolves at once, without waiting for the end (nsqd reads max+1 bytes
 * through a LimitReader and answers 413 then, whether the body has an end or not); what follows is
 * thrown away, and a body that goes on for more than 256 KiB more has its connection closed once the
 * answer is out. An oversized body never costs more than `limit`.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; tooBig: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let discarded = -1;
    req.on('data', (chunk: Buffer) => {
      if (discarded >= 0) {
        discarded += chunk.length;
        if (discarded > DISCARD_AFTER_LIMIT) req.socket.destroySoon();
        return;
      }
      if (length + chunk.length > limit) {
        discarded = 0;
        chunks.length = 0;
        resolve({ body: Buffer.alloc(0), tooBig: true });
        return;
      }
      chunks.push(chunk);
      length += chunk.length;
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks, length), tooBig: false }));
    req.on('error', reject);
  });
}

/** Go's `strconv.ParseBool`-like reading of `include_clients` style flags: absent or unknown means `fallback`. */
export function parseBoolParam(value: string | null, fallback: boolean): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return fallback;
}

const HEX = /^[0-9a-fA-F]{2}$/;

/** Go's `url.QueryUnescape`: `+` is a space, `%XX` must be two hex digits. Undefined when malformed. */
function queryUnescape(text: string): string | undefined {
  if (!text.includes('%')) return text.includes('+') ? text.replaceAll('+', ' ') : text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hex = text.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c === 0x2b /* + */) {
      bytes.push(0x20);
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      for (const b of Buffer.from(text[i]!, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * A query string read as Go's `url.ParseQuery` reads it (nsqd and nsqlookupd answer 400
 * `INVALID_REQUEST` when it fails): pairs split on `&`, a `;` anywhere in a pair or a bad `%`
 * escape is an error, a key without `=` has the value `""`. Returns undefined on error.
 */
export function parseQuery(raw: string): Map<string, string[]> | undefined {
  const values = new Map<string, string[]>();
  let failed = false;
  for (const pair of raw.split('&')) {
    if (pair.includes(';')) {
      failed = true;
      continue;
    }
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = queryUnescape(equals < 0 ? pair : pair.slice(0, equals));
    const value = queryUnescape(equals < 0 ? '' : pair.slice(equals + 1));
    if (key === undefined || value === undefined) {
      failed = true;
      continue;
    }
    const list = values.get(key);
    if (list === undefined) values.set(key, [value]);
    else list.push(value);
  }
  return failed ? undefined : values;
}

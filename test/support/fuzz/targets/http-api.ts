/**
 * Fuzz target: the broker's HTTP API handler (broker/nsqd/http-api.ts, http-config.ts, http-v1.ts)
 * on a real Nsqd in a temporary data path, fed requests through in-process request and response
 * objects. An input is `[flags byte][method path?query]\n[body]`: the flags pick the method and the
 * Content-Length header (exact, absent, too large, not a number). Every request gets one answer
 * within the deadline; an error answer is nsqd's JSON `{"message": …}` with one of nsqd's statuses;
 * nothing is logged as an error (a 500 logs "HTTP handler failed"); the broker stays healthy.
 */
import { rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { httpHandler } from '../../../../broker/nsqd/http-api.ts';
import { Nsqd } from '../../../../broker/nsqd/nsqd.ts';
import { BrokerOptionsSchema } from '../../../../broker/nsqd/options.ts';
import { seededRandom } from '../../prng.ts';
import { Fuzz, randomHttpRequest } from '../corpus-broker.ts';
import { RecordingLogger } from '../fake-socket.ts';
import { invariant, scratchDir, type FuzzTarget } from '../target.ts';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'POST'];
const STATUSES = new Set([200, 400, 404, 405, 413]);
/** Topics are deleted every so many requests, so the broker's memory and disk stay small. */
const RESET_EVERY = 200;

interface Answer {
  status: number;
  body: string;
}

/** Splits an input into the request it stands for. */
function request(input: Buffer): { req: IncomingMessage; method: string; url: string } {
  const flags = input[0] ?? 0;
  const newline = input.indexOf(0x0a, 1);
  const line = input.toString('latin1', 1, newline < 0 ? input.length : newline);
  const body = newline < 0 ? Buffer.alloc(0) : input.subarray(newline + 1);
  const space = line.indexOf(' ');
  const method = METHODS[flags & 7]!;
  const url = space < 0 ? line : line.slice(space + 1);
  const headers: Record<string, string> = {};
  const lengthMode = (flags >> 3) & 3;
  if (lengthMode === 0) headers['content-length'] = String(body.length);
  else if (lengthMode === 2) headers['content-length'] = String(body.length + 10_000_000);
  else if (lengthMode === 3) headers['content-length'] = 'abc';
  const req = Readable.from(body.length === 0 ? [] : [body], { objectMode: false }) as unknown as IncomingMessage;
  Object.assign(req, { method, url, headers });
  return { req, method, url };
}

/** A response object that records the one answer; resolves when it is complete. */
function response(): { res: ServerResponse; answered: Promise<Answer> } {
  let resolve: (answer: Answer) => void = () => {};
  const answered = new Promise<Answer>((done) => (resolve = done));
  let status = 0;
  let heads = 0;
  const res = {
    headersSent: false,
    // Allow, Location: headers set before writeHead, as a ServerResponse takes them.
    setHeader(name: string) {
      invariant(heads === 0, `header ${name} set after the status line`);
      return res;
    },
    writeHead(code: number) {
      heads++;
      status = code;
      res.headersSent = true;
      return res;
    },
    end(body?: string | Buffer) {
      invariant(heads === 1, `${heads} status lines for one request`);
      resolve({ status, body: body === undefined ? '' : body.toString() });
    },
    destroy() {
      resolve({ status: -1, body: '' });
    },
  };
  return { res: res as unknown as ServerResponse, answered };
}

function encode(method: string, path: string, body: Buffer | undefined, lengthMode: number): Buffer {
  const flags = Math.max(0, METHODS.indexOf(method)) | (lengthMode << 3);
  return Buffer.concat([Buffer.from([flags]), Buffer.from(`${method} ${path}\n`, 'latin1'), body ?? Buffer.alloc(0)]);
}

export function httpApiTarget(): FuzzTarget {
  const dataPath = scratchDir('fuzz-http-');
  const logger = new RecordingLogger();
  const options = BrokerOptionsSchema.parse({ dataPath, maxMsgSize: 1024, maxBodySize: 8192, memQueueSize: 100 });
  const nsqd = new Nsqd(options, logger as unknown as Logger);
  nsqd.load();
  const handle = httpHandler({ nsqd, clients: () => [], ports: () => ({ tcpPort: 4150, httpPort: 4151 }) });
  let requests = 0;
  return {
    name: 'http-api',
    maxLength: 4096,
    coverage: /\/broker\/(nsqd\/http-api|nsqd\/http-config|http-v1)\.ts|\/protocol\/(commands|names)\.ts/,
    dictionary: ['?topic=', '&channel=', '&defer=', '&binary=true', '/pub', '/mpub', '/topic/', '/channel/', '/config/', 'create', 'pause', '%', ';', '+', '\n'],
    seeds() {
      const fuzz = new Fuzz(seededRandom(4));
      return Array.from({ length: 80 }, (_, i) => {
        const { method, path, body } = randomHttpRequest(fuzz);
        return encode(method, path, body, i % 4 === 0 ? 1 : 0);
      });
    },
    async run(input) {
      if (++requests % RESET_EVERY === 0) for (const name of [...nsqd.topics.keys()]) nsqd.deleteTopic(name);
      const { req, method, url } = request(input);
      const { res, answered } = response();
      handle(req, res);
      const answer = await answered;
      const failed = logger.errors.shift();
      if (failed !== undefined) throw failed.err ?? new Error(failed.msg);
      invariant(answer.status === -1 || STATUSES.has(answer.status), `${method} ${url} answered ${answer.status} ${answer.body}`);
      // A request target Go's server refuses before routing (a bad % escape in the path) is its plain 400.
      const refusedTarget = answer.status === 400 && answer.body === '400 Bad Request';
      if (answer.status >= 400 && !refusedTarget) invariant(typeof JSON.parse(answer.body).message === 'string', `error body ${answer.body}`);
      invariant(nsqd.health === 'OK', `health ${nsqd.health}`);
    },
    expected: () => false,
    close() {
      nsqd.persistAndClose();
      rmSync(dataPath, { recursive: true, force: true });
    },
  };
}

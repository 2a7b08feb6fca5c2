/**
 * Broker traffic for fuzzing: protocol V2 commands that are well formed or nearly so, IDENTIFY bodies,
 * MPUB bodies whose size words lie, and HTTP API requests. Shared by the seeded fuzz test
 * (test/integration/broker-fuzz.test.ts) and the coverage-guided fuzzer's seed corpus.
 */
import { encodeCommand, encodePub } from '../../../protocol/commands.ts';

/** Seeded choices for building broker traffic. */
export class Fuzz {
  constructor(readonly random: () => number) {}
  int(max: number): number {
    return Math.floor(this.random() * max);
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(max: number): Buffer {
    const out = Buffer.allocUnsafe(this.int(max + 1));
    for (let i = 0; i < out.length; i++) out[i] = this.int(256);
    return out;
  }
  ascii(max: number, alphabet = 'abcxyz019._-#:%;&=?/ \r\n\t!'): string {
    let s = '';
    const n = this.int(max + 1);
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

/** Fuzz traffic uses these names only, so it never touches the ledger topic. */
export const FUZZ_TOPICS = ['fz_a', 'fz_b', 'fz_c#ephemeral', 'bad name', '', 'x'.repeat(70), 'fz_d'];
export const FUZZ_CHANNELS = ['c1', 'c2', 'e#ephemeral', 'bad/chan', ''];

function sizedBody(fuzz: Fuzz): Buffer {
  if (fuzz.chance(0.05)) return Buffer.alloc(fuzz.int(70_000), 0x61);
  return fuzz.bytes(64);
}

export function mpubBody(fuzz: Fuzz): Buffer {
  const count = fuzz.int(6);
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head.writeInt32BE(fuzz.chance(0.1) ? fuzz.pick([-1, 0, 0x7fffffff, 1_000_000]) : count);
  parts.push(head);
  for (let i = 0; i < count; i++) {
    const body = fuzz.bytes(20);
    const size = Buffer.alloc(4);
    size.writeInt32BE(fuzz.chance(0.1) ? fuzz.pick([-5, 0, 1 << 30]) : body.length);
    parts.push(size, body);
  }
  return Buffer.concat(parts);
}

/** One command, well formed or nearly so. */
export function command(fuzz: Fuzz): Buffer {
  const topic = fuzz.pick(FUZZ_TOPICS);
  const channel = fuzz.pick(FUZZ_CHANNELS);
  const id = fuzz.chance(0.5) ? '0123456789abcdef' : fuzz.ascii(20);
  switch (fuzz.int(16)) {
    case 0:
      return encodeCommand('IDENTIFY', [], Buffer.from(fuzz.chance(0.7) ? JSON.stringify(identifyBody(fuzz)) : fuzz.ascii(40)));
    case 1:
      return encodeCommand('SUB', [topic, channel]);
    case 2:
      return encodeCommand('RDY', [fuzz.pick(['0', '1', '100', '2500', '2501', '-1', 'abc', '99999999999'])]);
    case 3:
      return encodeCommand('FIN', [id]);
    case 4:
      return encodeCommand('REQ', [id, fuzz.pick(['0', '10', '-1', 'x', '9999999999'])]);
    case 5:
      return encodeCommand('TOUCH', [id]);
    case 6:
      return encodePub(topic, sizedBody(fuzz));
    case 7:
      return encodeCommand('MPUB', [topic], mpubBody(fuzz));
    case 8:
      return encodeCommand('DPUB', [topic, fuzz.pick(['0', '5', '100', '-1', '3600001', 'z'])], fuzz.bytes(16));
    case 9:
      return Buffer.from('NOP\n');
    case 10:
      return Buffer.from('CLS\n');
    case 11:
      return encodeCommand('AUTH', [], fuzz.bytes(16));
    case 12: {
      // A body command whose size word lies: huge, negative, or longer than what follows.
      const out = encodePub(topic, fuzz.bytes(8));
      const sizeAt = out.indexOf(0x0a) + 1;
      out.writeInt32BE(fuzz.pick([0x7fffffff, -1, 0, 1 << 24, 100]), sizeAt);
      return out;
    }
    case 13:
      return Buffer.from(`${fuzz.ascii(12, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ ')}\n`);
    case 14:
      return Buffer.from(`${fuzz.pick(['PUB', 'SUB', 'RDY', 'FIN', 'MPUB'])}${fuzz.ascii(30)}\n`);
    default:
      return fuzz.bytes(40);
  }
}

export function identifyBody(fuzz: Fuzz): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const fields: Array<[string, () => unknown]> = [
    ['client_id', () => fuzz.ascii(10)],
    ['hostname', () => fuzz.ascii(10)],
    ['feature_negotiation', () => fuzz.chance(0.5)],
    ['heartbeat_interval', () => fuzz.pick([-1, 0, 999, 1000, 60_000, 70_000, 'x'])],
    ['output_buffer_size', () => fuzz.pick([-1, 0, 64, 16384, 70_000])],
    ['output_buffer_timeout', () => fuzz.pick([-1, 0, 1, 250, 40_000])],
    ['sample_rate', () => fuzz.pick([-1, 0, 50, 99, 100])],
    ['msg_timeout', () => fuzz.pick([0, 999, 1000, 60_000, 1_000_000_000])],
    ['tls_v1', () => fuzz.chance(0.2)],
    ['snappy', () => fuzz.chance(0.2)],
    ['deflate', () => fuzz.chance(0.2)],
    ['deflate_level', () => fuzz.pick([0, 1, 6, 9, 10])],
    ['user_agent', () => fuzz.ascii(10)],
  ];
  for (const [name, value] of fields) if (fuzz.chance(0.4)) body[name] = value();
  return body;
}

const HTTP_PATHS = [
  '/ping', '/info', '/pub', '/mpub', '/stats', '/topic/create', '/topic/delete', '/topic/empty', '/topic/pause', '/topic/unpause',
  '/channel/create', '/channel/delete', '/channel/empty', '/channel/pause', '/channel/unpause', '/config/msg_timeout',
  '/config/log_level', '/config/nsqlookupd_tcp_addresses', '/config/nope', '/debug/pprof', '/', '/pub/', '//pub', '/%zz', '/stats/../info',
];
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS'];

export function randomQuery(fuzz: Fuzz): string {
  const pairs: string[] = [];
  for (let i = 0, n = fuzz.int(5); i < n; i++) {
    const key = fuzz.pick(['topic', 'channel', 'format', 'defer', 'binary', 'include_clients', 'include_mem', fuzz.ascii(5)]);
    const value = key === 'topic' ? fuzz.pick(FUZZ_TOPICS) : key === 'channel' ? fuzz.pick(FUZZ_CHANNELS) : fuzz.ascii(8, 'abc01%;+-&=json');
    pairs.push(`${encodeURIComponent(key)}=${fuzz.chance(0.8) ? encodeURIComponent(value) : value.replace(/[ \r\n\t#?/]/g, '')}`);
  }
  return pairs.length === 0 ? '' : `?${pairs.join(fuzz.chance(0.9) ? '&' : ';')}`;
}

/** An HTTP request to the broker's API, as the seeded fuzz test and the fuzzer's seed corpus send it. */
export interface FuzzHttpRequest {
  method: string;
  path: string;
  body: Buffer | undefined;
  chunked: boolean;
}

export function randomHttpRequest(fuzz: Fuzz): FuzzHttpRequest {
  const method = fuzz.pick(HTTP_METHODS);
  const path = `${fuzz.pick(HTTP_PATHS)}${randomQuery(fuzz)}`;
  let body: Buffer | undefined;
  if (method !== 'GET' && method !== 'HEAD' && fuzz.chance(0.8)) {
    body = fuzz.chance(0.5) ? Buffer.from(fuzz.ascii(60, 'abc\n\r01 ')) : fuzz.chance(0.5) ? mpubBody(fuzz) : fuzz.bytes(200);
  }
  return { method, path, body, chunked: body !== undefined && fuzz.chance(0.3) };
}

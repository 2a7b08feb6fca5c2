/**
 * The IDENTIFY body nsqd sends to nsqlookupd, decoded as Go's `json.Unmarshal` decodes it into
 * nsqlookupd's `PeerInfo`: keys match field names case-insensitively, unknown keys are ignored,
 * `null` leaves a field at its zero value, and a value of the wrong type fails the whole body.
 */

export interface IdentifyFields {
  hostname: string;
  broadcastAddress: string;
  tcpPort: number;
  httpPort: number;
  version: string;
}

type Field = keyof IdentifyFields | 'remoteAddress';

const FIELDS: ReadonlyMap<string, { field: Field; kind: 'string' | 'int' }> = new Map([
  ['remote_address', { field: 'remoteAddress', kind: 'string' }],
  ['hostname', { field: 'hostname', kind: 'string' }],
  ['broadcast_address', { field: 'broadcastAddress', kind: 'string' }],
  ['tcp_port', { field: 'tcpPort', kind: 'int' }],
  ['http_port', { field: 'httpPort', kind: 'int' }],
  ['version', { field: 'version', kind: 'string' }],
] as const);

// Go's `int` is 64 bits; beyond that the decoder reports an overflow.
const INT64_LIMIT = 2 ** 63;

export type IdentifyDecodeResult =
  | { ok: true; fields: IdentifyFields }
  /** `decode`: not JSON or a wrong type (`IDENTIFY failed to decode JSON body`); `missing`: a required field is empty. */
  | { ok: false; reason: 'decode' | 'missing' };

/** Decodes and checks an IDENTIFY body: `broadcast_address`, `tcp_port`, `http_port` and `version` are required. */
export function decodeIdentifyBody(body: Buffer): IdentifyDecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'decode' };
  }
  const fields: IdentifyFields = {
    hostname: '',
    broadcastAddress: '',
    tcpPort: 0,
    httpPort: 0,
    version: '',
  };
  // A JSON null decodes into a struct as "nothing set"; any other non-object is a type error.
  if (parsed !== null) {
    if (typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, reason: 'decode' };
    // Keys are applied in order, so of `tcp_port` and `TCP_PORT` the later one wins, as in Go.
    for (const [key, value] of Object.entries(parsed)) {
      const spec = FIELDS.get(key.toLowerCase());
      if (spec === undefined || value === null) continue;
      if (spec.kind === 'string') {
        if (typeof value !== 'string') return { ok: false, reason: 'decode' };
        if (spec.field !== 'remoteAddress') (fields[spec.field] as string) = value;
      } else {
        if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) >= INT64_LIMIT) {
          return { ok: false, reason: 'decode' };
        }
        (fields[spec.field as 'tcpPort' | 'httpPort'] as number) = value;
      }
    }
  }
  if (fields.broadcastAddress === '' || fields.tcpPort === 0 || fields.httpPort === 0 || fields.version === '') {
    return { ok: false, reason: 'missing' };
  }
  return { ok: true, fields };
}

/**
 * The bundled nsqlookupd's options, with nsqlookupd's defaults, and the flag table the CLI turns
 * into `nsqworker lookupd --tcp-address ...`. Durations are milliseconds here (`...Ms`); the flags
 * take nsqlookupd's Go forms (`300s`, `5m`, `45s`).
 */
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
// zod/mini, as in broker/nsqd/options.ts: the bundled server carries only the functions it uses.
import * as z from 'zod/mini';
import { ENGLISH } from '../../protocol/zod-english.ts';
import { formatDurationMs } from '../../protocol/duration.ts';
import { parseHostPort } from '../../protocol/address.ts';
import { LookupdError, LookupdErrorCode } from './errors.ts';

/** The version nsqlookupd reports (`/info`, IDENTIFY); nsqd and nsqadmin read it. */
export const LOOKUPD_VERSION = '1.3.0';

const address = z.string().check(
  z.refine(
    (value) => {
      try {
        parseHostPort(value);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'expected host:port (port 0 picks a free port)' },
  ),
);
const ms = z.int().check(z.minimum(0));

export const LookupdOptionsSchema = z.object({
  /** `host:port` for the TCP protocol V1 that nsqd registers over. Default `0.0.0.0:4160`. */
  tcpAddress: z._default(address, '0.0.0.0:4160'),
  /** `host:port` for the HTTP API. Default `0.0.0.0:4161`. */
  httpAddress: z._default(address, '0.0.0.0:4161'),
  /** The address this lookupd tells nsqd in the IDENTIFY reply. Default: the OS host name. */
  broadcastAddress: z._default(z.string(), () => hostname()),
  /** A producer not heard from (IDENTIFY or PING) for longer than this is hidden. Default 300000 (5m). */
  inactiveProducerTimeoutMs: z._default(ms, 300_000),
  /** How long a tombstoned producer stays hidden from `/lookup`. Default 45000 (45s). */
  tombstoneLifetimeMs: z._default(ms, 45_000),
  /** Where the lookupd logs. Default: silent. */
  logger: z.optional(z.custom<Logger>((value) => typeof value === 'object' && value !== null)),
});

export type LookupdOptionsInput = z.input<typeof LookupdOptionsSchema>;

export interface LookupdOptions extends Omit<z.output<typeof LookupdOptionsSchema>, 'logger'> {
  logger: Logger;
}

/** Validates options and fills defaults. Throws {@link LookupdError} `E_LOOKUPD_INVALID_OPTIONS`. */
export function resolveLookupdOptions(input: LookupdOptionsInput = {}): LookupdOptions {
  const parsed = LookupdOptionsSchema.safeParse(input, ENGLISH);
  if (!parsed.success) {
    throw new LookupdError(LookupdErrorCode.InvalidOptions, `invalid lookupd options: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return { ...parsed.data, logger: parsed.data.logger ?? pino({ level: 'silent' }) };
}

export type LookupdFlagKind = 'string' | 'duration';

export interface LookupdFlag {
  /** nsqlookupd's flag name, without the dashes (`tcp-address` is `--tcp-address`). */
  flag: string;
  option: Exclude<keyof LookupdOptions, 'logger'>;
  /** `duration` flags take a Go duration (`300s`, `5m`) or a number of milliseconds: parse with protocol/duration.ts. */
  kind: LookupdFlagKind;
  description: string;
  /** The default as nsqlookupd's help prints it. The schema owns the real default. */
  default: string;
}

/** The flags of `nsqworker lookupd`, named as nsqlookupd names them. */
export const LOOKUPD_FLAGS: readonly LookupdFlag[] = [
  {
    flag: 'tcp-address',
    option: 'tcpAddress',
    kind: 'string',
    description: '<addr>:<port> to listen on for TCP clients',
    default: '0.0.0.0:4160',
  },
  {
    flag: 'http-address',
    option: 'httpAddress',
    kind: 'string',
    description: '<addr>:<port> to listen on for HTTP clients',
    default: '0.0.0.0:4161',
  },
  {
    flag: 'broadcast-address',
    option: 'broadcastAddress',
    kind: 'string',
    description: 'address of this lookupd node, (default to the OS hostname)',
    default: hostname(),
  },
  {
    flag: 'inactive-producer-timeout',
    option: 'inactiveProducerTimeoutMs',
    kind: 'duration',
    description: 'duration of time a producer will remain in the active list since its last ping',
    default: formatDurationMs(300_000),
  },
  {
    flag: 'tombstone-lifetime',
    option: 'tombstoneLifetimeMs',
    kind: 'duration',
    description: 'duration of time a producer will remain tombstoned if registration remains',
    default: formatDurationMs(45_000),
  },
];

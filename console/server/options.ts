/**
 * The console's options: one declaration per option with nsqadmin's flag name, so a command line
 * written for nsqadmin works. Unlike nsqadmin the default address is loopback: its actions are open
 * to whoever reaches the port, so listening on every interface is a choice to make, not a default.
 */
import { z } from 'zod';
import type { Logger } from 'pino';

const positive = z.number().int().min(1);

/** Where the console listens unless told otherwise: loopback, where nsqadmin takes every interface. */
export const DEFAULT_CONSOLE_ADDRESS = '127.0.0.1:4171';

export const ConsoleOptionsSchema = z.object({
  httpAddress: z.string().default(DEFAULT_CONSOLE_ADDRESS),
  /** The URL prefix the console is served under, behind a reverse proxy (`/`, or `/nsq/`). */
  basePath: z.string().default('/'),
  nsqdHttpAddresses: z.array(z.string()).default([]),
  lookupdHttpAddresses: z.array(z.string()).default([]),
  /** Hides every action and refuses them on the API. */
  readOnly: z.boolean().default(false),
  /** When non-empty, only these users (named by `aclHttpHeader`) may act. */
  adminUsers: z.array(z.string()).default([]),
  aclHttpHeader: z.string().default('X-Forwarded-User'),
  /** Each action is POSTed here as JSON, as nsqadmin does. */
  notificationHttpEndpoint: z.string().default(''),
  /** How often the cluster is polled, in milliseconds (not an nsqadmin flag: it has no poller). */
  pollIntervalMs: positive.default(2000),
  /** Accepted for nsqadmin's command lines; the request timeout bounds the connect as well. */
  httpClientConnectTimeoutMs: positive.default(2000),
  httpClientRequestTimeoutMs: positive.default(5000),
  /** PEM files for https to nsqd and lookupd (and to an nsqd's https port after its TLS_REQUIRED). */
  httpClientTlsRootCaFile: z.string().default(''),
  httpClientTlsCert: z.string().default(''),
  httpClientTlsKey: z.string().default(''),
  httpClientTlsInsecureSkipVerify: z.boolean().default(false),
  logger: z.custom<Logger>().optional(),
});

export type ConsoleOptionsInput = z.input<typeof ConsoleOptionsSchema>;
export type ConsoleOptions = z.output<typeof ConsoleOptionsSchema>;

export interface ConsoleFlag {
  /** nsqadmin's flag name, without the dashes. */
  flag: string;
  option: Exclude<keyof ConsoleOptions, 'logger' | 'readOnly' | 'httpClientTlsInsecureSkipVerify'>;
  kind: 'string' | 'duration' | 'list';
  description: string;
}

/** The flags of `nsqworker admin` that take a value; `--read-only` is a plain switch beside them. */
export const CONSOLE_FLAGS: readonly ConsoleFlag[] = [
  { flag: 'http-address', option: 'httpAddress', kind: 'string', description: '<addr>:<port> to listen on for HTTP clients (default 127.0.0.1:4171)' },
  { flag: 'base-path', option: 'basePath', kind: 'string', description: 'URL base path (default /)' },
  { flag: 'nsqd-http-address', option: 'nsqdHttpAddresses', kind: 'list', description: 'nsqd HTTP address (may be given multiple times); this or --lookupd-http-address is required' },
  { flag: 'lookupd-http-address', option: 'lookupdHttpAddresses', kind: 'list', description: 'lookupd HTTP address (may be given multiple times); this or --nsqd-http-address is required' },
  { flag: 'admin-user', option: 'adminUsers', kind: 'list', description: 'admin user (may be given multiple times); only they may act' },
  { flag: 'acl-http-header', option: 'aclHttpHeader', kind: 'string', description: 'HTTP header to check for the admin user (default X-Forwarded-User)' },
  { flag: 'notification-http-endpoint', option: 'notificationHttpEndpoint', kind: 'string', description: 'HTTP endpoint to which each action is POSTed as JSON' },
  { flag: 'poll-interval', option: 'pollIntervalMs', kind: 'duration', description: 'how often each nsqd and lookupd is polled (default 2s)' },
  { flag: 'http-client-connect-timeout', option: 'httpClientConnectTimeoutMs', kind: 'duration', description: 'accepted as nsqadmin does; the request timeout covers connecting too' },
  { flag: 'http-client-request-timeout', option: 'httpClientRequestTimeoutMs', kind: 'duration', description: 'timeout for a request to nsqd and lookupd (default 5s)' },
  { flag: 'http-client-tls-root-ca-file', option: 'httpClientTlsRootCaFile', kind: 'string', description: 'CA file that signs the certificates of nsqd and lookupd (https)' },
  { flag: 'http-client-tls-cert', option: 'httpClientTlsCert', kind: 'string', description: 'client certificate file, for nsqd that ask for one' },
  { flag: 'http-client-tls-key', option: 'httpClientTlsKey', kind: 'string', description: 'key file of the client certificate' },
];

/** `/nsq` and `nsq/` become `/nsq/`; the empty path is `/`. */
export function normaliseBasePath(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}

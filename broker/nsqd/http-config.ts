/**
 * `/config/:opt`: an option's value by its config name (the flag name with `_` for `-`), with
 * nsqd's encodings: durations as integer nanoseconds, strings raw and unquoted, the rest as JSON.
 * PUT changes `nsqlookupd_tcp_addresses` and `log_level`, the two that nsqd lets change at run time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readBody, sendJson, sendText } from '../http-v1.ts';
import type { Nsqd } from './nsqd.ts';
import { BROKER_FLAGS, type BrokerFlag } from './options.ts';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;

/**
 * nsqd's log level number, 1 (debug) to 5 (fatal). pino has two levels nsqd lacks: `trace` reads as
 * debug and `silent` (the embedded default) as fatal, so the answer always stays in nsqd's range.
 */
function nsqdLogLevel(level: string): number {
  if (level === 'trace') return 1;
  const index = LOG_LEVELS.indexOf(level as (typeof LOG_LEVELS)[number]);
  return index < 0 ? LOG_LEVELS.length : index + 1;
}

function configName(flag: BrokerFlag): string {
  // nsqd's cfg name for --lookupd-tcp-address is nsqlookupd_tcp_addresses.
  if (flag.flag === 'lookupd-tcp-address') return 'nsqlookupd_tcp_addresses';
  return flag.configName ?? flag.flag.replaceAll('-', '_');
}

const FLAGS_BY_CONFIG_NAME = new Map(BROKER_FLAGS.map((flag) => [configName(flag), flag]));

export async function configValue(nsqd: Nsqd, req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  // The router sends GET and PUT here only (GET /config/:opt and PUT /config/:opt, nsqd/http.go).
  if (req.method === 'PUT') return putConfig(nsqd, req, res, name);
  if (name === 'log_level') return sendJson(res, nsqdLogLevel(nsqd.logger.level));
  const flag = FLAGS_BY_CONFIG_NAME.get(name);
  if (flag === undefined) throw new HttpError(400, 'INVALID_OPTION');
  const value = flag.configValue === undefined ? nsqd.options[flag.option] : flag.configValue(nsqd.options[flag.option]);
  if (flag.kind === 'duration') return sendJson(res, (value as number) * 1e6);
  if (typeof value === 'string') return sendText(res, value);
  sendJson(res, value);
}

async function putConfig(nsqd: Nsqd, req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const { body, tooBig } = await readBody(req, nsqd.options.maxMsgSize);
  if (tooBig || body.length === 0) throw new HttpError(413, 'INVALID_VALUE');
  const text = body.toString('utf8');
  if (name === 'nsqlookupd_tcp_addresses') {
    let addresses: unknown;
    try {
      addresses = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'INVALID_VALUE');
    }
    // Go's json.Unmarshal of null into the list leaves it nil: no lookupd, answered as null.
    if (addresses === null) {
      nsqd.setLookupdTcpAddresses([]);
      return sendJson(res, null);
    }
    if (!Array.isArray(addresses) || !addresses.every((address) => typeof address === 'string')) {
      throw new HttpError(400, 'INVALID_VALUE');
    }
    nsqd.setLookupdTcpAddresses(addresses as string[]);
    return sendJson(res, addresses);
  }
  if (name === 'log_level') {
    // lg.ParseLogLevel lower-cases the body, nothing more: "debug\n" is not a level.
    const level = text.toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new HttpError(400, 'INVALID_VALUE');
    nsqd.logger.level = level;
    return sendJson(res, LOG_LEVELS.indexOf(level as (typeof LOG_LEVELS)[number]) + 1);
  }
  throw new HttpError(400, 'INVALID_OPTION');
}

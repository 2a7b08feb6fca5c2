/**
 * The few calls the runner makes to an nsqd's HTTP API (the same on our broker and on real nsqd):
 * create a topic or channel, pause and unpause a topic, read one topic's stats, read /info. Every
 * failure is an {@link NsqdHttpError} with a code. An nsqd started with `--tls-required` answers
 * 403 `{"message": "TLS_REQUIRED", "https_port": N}` on plain HTTP: that is its own code, with the
 * port, so a caller that speaks TLS can follow it there (an `https://` address is used as it is).
 */
import { nsqHttpRequest } from '../../client/http-request.ts';
import type { TlsOption } from '../../client/options.ts';
import { CodedError } from '../../protocol/coded-error.ts';

export const NsqdHttpErrorCode = {
  /** No answer: refused, reset, timed out. */
  Unreachable: 'E_NSQD_HTTP_UNREACHABLE',
  /** An answer other than 200 (the body says why: `TOPIC_NOT_FOUND`, ...). */
  Refused: 'E_NSQD_HTTP_REFUSED',
  /** 403 `TLS_REQUIRED`: this nsqd takes HTTPS only (`--tls-required`). */
  TlsRequired: 'E_NSQD_TLS_REQUIRED',
} as const;

export type NsqdHttpErrorCode = (typeof NsqdHttpErrorCode)[keyof typeof NsqdHttpErrorCode];

export class NsqdHttpError extends CodedError<NsqdHttpErrorCode> {
  override readonly name = 'NsqdHttpError';
  constructor(
    code: NsqdHttpErrorCode,
    message: string,
    /** The HTTP status, when there was an answer. */
    readonly status: number | undefined,
    options?: { cause?: unknown; httpsPort?: number },
  ) {
    super(code, message, options);
    this.httpsPort = options?.httpsPort;
  }

  /** With `E_NSQD_TLS_REQUIRED`: the nsqd's HTTPS port, from its answer. */
  readonly httpsPort: number | undefined;
}

/** Why a request got no answer: the socket's error code (ECONNREFUSED), or the timeout's message. */
function failureReason(cause: unknown): string {
  const error = cause as NodeJS.ErrnoException & { cause?: unknown };
  if (error.code === 'ABORT_ERR' && error.cause instanceof Error) return error.cause.message;
  return (typeof error.code === 'string' ? error.code : error.message) || 'no answer';
}

/** The https_port of a 403 TLS_REQUIRED answer, if it has one. */
function httpsPortOf(text: string): number | undefined {
  try {
    const port = (JSON.parse(text) as { https_port?: unknown }).https_port;
    return typeof port === 'number' && Number.isInteger(port) && port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

/** One channel as `/stats` reports it (nsqd's `depth`, `deferred_count`, `in_flight_count`, `client_count`, `paused`). */
export interface ChannelEntry {
  name: string;
  depth: number;
  deferred: number;
  inFlight: number;
  clients: number;
  paused: boolean;
}

/** One topic as `/stats?topic=` reports it: what the runner decides on before creating channels. */
export interface TopicState {
  /** By channel name. */
  channels: ReadonlyMap<string, ChannelEntry>;
  paused: boolean;
}

export class NsqdHttp {
  /** `http://host:port` for a bare `host:port`; a URL (say `https://...`) is kept. */
  readonly baseUrl: string;

  constructor(
    address: string,
    private readonly timeoutMs = 5000,
    /** The worker's TLS options (`--tls*`): with them, https addresses and nsqd's TLS_REQUIRED redirect work. */
    private readonly tls?: TlsOption,
  ) {
    this.baseUrl = (/^https?:\/\//i.test(address) ? address : `http://${address}`).replace(/\/+$/, '');
  }

  /** A POST that changes something (`/topic/create?topic=...`); resolves on 200. */
  async post(path: string): Promise<void> {
    await this.request('POST', path);
  }

  /** `/stats` for one topic; undefined when this nsqd does not have it. */
  async topicState(topic: string): Promise<TopicState | undefined> {
    const body = await this.getJson(`/stats?format=json&topic=${encodeURIComponent(topic)}&include_clients=false&include_mem=false`);
    // v1 answers are bare; very old nsqd wrapped them in {"status_code":200,"data":{...}}.
    const stats = (body as { data?: unknown }).data ?? body;
    const topics = (stats as { topics?: unknown }).topics;
    if (!Array.isArray(topics)) return undefined;
    const entry = (topics as Array<{ topic_name?: unknown; channels?: unknown; paused?: unknown }>).find((t) => t.topic_name === topic);
    if (entry === undefined) return undefined;
    type Reported = { channel_name?: unknown; depth?: unknown; deferred_count?: unknown; in_flight_count?: unknown; client_count?: unknown; paused?: unknown };
    const reported = Array.isArray(entry.channels) ? (entry.channels as Reported[]) : [];
    const channels = new Map<string, ChannelEntry>();
    for (const c of reported) {
      const name = String(c.channel_name);
      channels.set(name, {
        name,
        depth: Number(c.depth ?? 0),
        deferred: Number(c.deferred_count ?? 0),
        inFlight: Number(c.in_flight_count ?? 0),
        clients: Number(c.client_count ?? 0),
        paused: c.paused === true,
      });
    }
    return { channels, paused: entry.paused === true };
  }

  /** `/info`: the nsqd's TCP port (to check that this HTTP address is that nsqd's), version and start time. */
  async info(): Promise<{ tcpPort: number | undefined; version: string | undefined; startTime: number | undefined }> {
    const body = (await this.getJson('/info')) as { data?: Record<string, unknown> } & Record<string, unknown>;
    const info = body.data ?? body;
    const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
    return { tcpPort: number(info.tcp_port), version: typeof info.version === 'string' ? info.version : undefined, startTime: number(info.start_time) };
  }

  /** `/config/<name>` as text (strings come back raw, as nsqd writes them). */
  async configText(name: string): Promise<string> {
    return (await this.request('GET', `/config/${name}`)).trim();
  }

  private async getJson(path: string): Promise<unknown> {
    const text = await this.request('GET', path);
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new NsqdHttpError(NsqdHttpErrorCode.Refused, `${this.baseUrl}${path} sent something that is not JSON`, 200, { cause });
    }
  }

  private async request(method: 'GET' | 'POST', path: string): Promise<string> {
    const url = `${this.baseUrl}${path}`;
    const headers = { Accept: 'application/vnd.nsq; version=1.0' };
    let response: { status: number; text: string };
    try {
      // node:http, not fetch: a runner's first request would load fetch's HTTP stack (undici), about
      // 30 ms of its start. With TLS configured, nsqd's 403 TLS_REQUIRED is followed to its https port
      // (client/http-request.ts); without, it is this call's own error below.
      const followTlsRequired = this.tls !== undefined && this.tls !== false;
      response = await nsqHttpRequest(url, { method, headers, signal: AbortSignal.timeout(this.timeoutMs), tls: this.tls, followTlsRequired });
    } catch (cause) {
      throw new NsqdHttpError(NsqdHttpErrorCode.Unreachable, `${method} ${url}: ${failureReason(cause)}`, undefined, { cause });
    }
    const text = response.text;
    if (response.status === 200) return text;
    const message = `${method} ${url} answered ${response.status} ${text.trim().slice(0, 200)}`;
    if (response.status === 403 && text.includes('TLS_REQUIRED')) {
      throw new NsqdHttpError(NsqdHttpErrorCode.TlsRequired, message, 403, { httpsPort: httpsPortOf(text) });
    }
    throw new NsqdHttpError(NsqdHttpErrorCode.Refused, message, response.status);
  }
}

/**
 * The curl line a warning gives for a user to run: POST `/channel/<action>` (nsqd's HTTP API) for
 * `channel` of `topic` to the nsqd whose HTTP API is at `httpBase` (`http://host:port`, {@link NsqdHttp}'s baseUrl).
 */
export function channelCurl(httpBase: string, action: 'delete' | 'pause' | 'unpause', topic: string, channel: string): string {
  return `curl -X POST '${httpBase}/channel/${action}?topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}'`;
}

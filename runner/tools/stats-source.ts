/**
 * Where `nsqworker stats` gets its numbers: nsqd's `/stats?format=json` filtered to one topic and
 * channel (what nsq_stat asks for), and nsqlookupd's `/lookup` for the nsqd that have the topic.
 */
import { z } from 'zod';
import { joinHostPort, lookupUrl } from '../../client/discovery.ts';
import { nsqHttpRequest } from '../../client/http-request.ts';
import type { TlsOption } from '../../client/options.ts';
import { ToolError, ToolErrorCode } from './errors.ts';
import { addTotals, EMPTY_TOTALS, type ChannelTotals } from './stats-table.ts';

const ACCEPT = 'application/vnd.nsq; version=1.0';
const count = z.number().int().min(0);

const StatsReply = z.object({
  topics: z
    .array(
      z.object({
        topic_name: z.string(),
        channels: z
          .array(
            z.object({
              channel_name: z.string(),
              depth: count,
              backend_depth: count,
              in_flight_count: count,
              deferred_count: count,
              message_count: count,
              requeue_count: count,
              timeout_count: count,
              client_count: count,
            }),
          )
          .nullable(),
      }),
    )
    .nullable(),
});

const LookupReply = z.object({
  producers: z.array(z.object({ broadcast_address: z.string(), http_port: z.number().int() })),
});

/** nsq_stat's two HTTP timeouts (--http-client-connect-timeout, --http-client-request-timeout), in ms. */
export interface HttpTimeouts {
  connectMs: number;
  requestMs: number;
}

function baseUrl(address: string): string {
  return /^https?:\/\//i.test(address) ? address.replace(/\/+$/, '') : `http://${address}`;
}

/** A GET over http or https (with `tls`), following nsqd's 403 TLS_REQUIRED to its https port. */
async function getJson(url: string, timeouts: HttpTimeouts, signal: AbortSignal | undefined, tls: TlsOption | undefined): Promise<{ status: number; body: unknown }> {
  const timeout = AbortSignal.timeout(timeouts.requestMs);
  let response: { status: number; text: string };
  let text: string;
  try {
    response = await nsqHttpRequest(url, {
      headers: { Accept: ACCEPT },
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      connectTimeoutMs: timeouts.connectMs,
      tls,
    });
    text = response.text;
  } catch (cause) {
    throw new ToolError(ToolErrorCode.QueryFailed, `GET ${url} failed: ${(cause as Error).message}`, { cause });
  }
  if (response.status !== 200) return { status: response.status, body: text };
  try {
    return { status: 200, body: JSON.parse(text) as unknown };
  } catch (cause) {
    throw new ToolError(ToolErrorCode.QueryFailed, `GET ${url} answered something that is not JSON`, { cause });
  }
}

type ChannelStats = NonNullable<NonNullable<z.output<typeof StatsReply>['topics']>[number]['channels']>[number];

function totalsOf(found: ChannelStats): ChannelTotals {
  return {
    depth: found.depth,
    backendDepth: found.backend_depth,
    inFlight: found.in_flight_count,
    deferred: found.deferred_count,
    requeued: found.requeue_count,
    timedOut: found.timeout_count,
    messages: found.message_count,
    clients: found.client_count,
  };
}

/**
 * Every channel of `topic`, each summed over every nsqd in `httpAddresses`: what `stats` shows
 * when the channel asked for is a worker's, whose tasks consume `<channel>.<task>`.
 */
export async function fetchTopicChannelTotals(
  httpAddresses: readonly string[],
  topic: string,
  timeouts: HttpTimeouts,
  signal?: AbortSignal,
  tls?: TlsOption,
): Promise<Map<string, ChannelTotals>> {
  const each = await Promise.all(
    httpAddresses.map(async (address) => {
      const url = new URL(`${baseUrl(address)}/stats`);
      url.search = new URLSearchParams({ format: 'json', topic, include_clients: 'false' }).toString();
      const { status, body } = await getJson(url.toString(), timeouts, signal, tls);
      if (status !== 200) throw new ToolError(ToolErrorCode.QueryFailed, `GET ${url} answered ${status}: ${String(body).slice(0, 200)}`);
      const parsed = StatsReply.safeParse(body);
      if (!parsed.success) throw new ToolError(ToolErrorCode.QueryFailed, `GET ${url} answered a /stats body without the expected fields`, { cause: parsed.error });
      return parsed.data.topics?.find((t) => t.topic_name === topic)?.channels ?? [];
    }),
  );
  const totals = new Map<string, ChannelTotals>();
  for (const channels of each) {
    for (const channel of channels) totals.set(channel.channel_name, addTotals(totals.get(channel.channel_name) ?? EMPTY_TOTALS, totalsOf(channel)));
  }
  return totals;
}

/** The channel's numbers on one nsqd; undefined when that nsqd has no such topic or channel. */
export async function fetchChannelStats(
  httpAddress: string,
  topic: string,
  channel: string,
  timeouts: HttpTimeouts,
  signal?: AbortSignal,
  tls?: TlsOption,
): Promise<ChannelTotals | undefined> {
  const url = new URL(`${baseUrl(httpAddress)}/stats`);
  url.search = new URLSearchParams({ format: 'json', topic, channel, include_clients: 'false' }).toString();
  const { status, body } = await getJson(url.toString(), timeouts, signal, tls);
  if (status !== 200) throw new ToolError(ToolErrorCode.QueryFailed, `GET ${url} answered ${status}: ${String(body).slice(0, 200)}`);
  const parsed = StatsReply.safeParse(body);
  if (!parsed.success) throw new ToolError(ToolErrorCode.QueryFailed, `GET ${url} answered a /stats body without the expected fields`, { cause: parsed.error });
  const found = parsed.data.topics?.find((t) => t.topic_name === topic)?.channels?.find((c) => c.channel_name === channel);
  if (found === undefined) return undefined;
  return totalsOf(found);
}

/**
 * The channel summed over every nsqd in `httpAddresses` (queried at once); undefined when none of
 * them has it. Any nsqd that cannot be read fails the poll, as in nsq_stat: a partial sum would lie.
 */
export async function fetchChannelTotals(
  httpAddresses: readonly string[],
  topic: string,
  channel: string,
  timeouts: HttpTimeouts,
  signal?: AbortSignal,
  tls?: TlsOption,
): Promise<ChannelTotals | undefined> {
  const each = await Promise.all(httpAddresses.map((address) => fetchChannelStats(address, topic, channel, timeouts, signal, tls)));
  let totals: ChannelTotals | undefined;
  for (const stats of each) if (stats !== undefined) totals = addTotals(totals ?? EMPTY_TOTALS, stats);
  return totals;
}

/**
 * The HTTP addresses (`broadcast_address:http_port`) of the nsqd that the lookupds list for `topic`,
 * sorted and without repeats. A lookupd that does not know the topic (404) lists none; the poll
 * fails only when no lookupd answered.
 */
export async function lookupTopicProducers(
  lookupdAddresses: readonly string[],
  topic: string,
  timeouts: HttpTimeouts,
  signal?: AbortSignal,
  tls?: TlsOption,
): Promise<string[]> {
  const results = await Promise.allSettled(lookupdAddresses.map((address) => lookupOne(address, topic, timeouts, signal, tls)));
  const producers = new Set<string>();
  let failure: unknown;
  let answered = 0;
  for (const result of results) {
    if (result.status === 'rejected') failure ??= result.reason;
    else {
      answered++;
      for (const producer of result.value) producers.add(producer);
    }
  }
  if (answered === 0) throw failure;
  return [...producers].sort();
}

async function lookupOne(address: string, topic: string, timeouts: HttpTimeouts, signal: AbortSignal | undefined, tls: TlsOption | undefined): Promise<string[]> {
  const url = lookupUrl(address, topic);
  const { status, body } = await getJson(url, timeouts, signal, tls);
  if (status === 404) return [];
  if (status !== 200) throw new ToolError(ToolErrorCode.QueryFailed, `GET ${url} answered ${status}: ${String(body).slice(0, 200)}`);
  const parsed = LookupReply.safeParse(body);
  if (!parsed.success) throw new ToolError(ToolErrorCode.QueryFailed, `GET ${url} answered a /lookup body without producers`, { cause: parsed.error });
  return parsed.data.producers.map((p) => joinHostPort(p.broadcast_address, p.http_port));
}

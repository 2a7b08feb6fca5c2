/**
 * Where a worker connects when NSQ is remote: the nsqd and lookupd addresses it was given, and an
 * nsqd to publish to (the first nsqd given, else the nodes lookupd knows, waited for).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { NOT_A_LOOKUPD, parseLookupProducers } from '../../client/discovery.ts';
import { errorMessageOf, isNotHttpAnswer, nsqHttpRequest } from '../../client/http-request.ts';
import { formatDurationMs } from '../../protocol/duration.ts';
import type { TlsOption } from '../../client/options.ts';
import { clientSecurity } from '../config/client-security.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import type { Endpoints } from './bind.ts';
import type { RunSettings } from '../config/settings.ts';
import { joinHostPort, parseHostPort } from '../../protocol/address.ts';
import { NsqdHttp } from './nsqd-http.ts';
import type { HttpAddressResolver } from './task-channels.ts';

/** What one lookupd's /nodes said: the nsqd it lists, or why there are none (`notLookupd`: it is no lookupd at all). */
type NodesAnswer = { nodes: string[] } | { problem: string; notLookupd: boolean };

/** How long one ask of lookupd's /nodes may take, in ms. */
const ASK_TIMEOUT_MS = 5000;

async function nodesFromLookupd(address: string, tls: TlsOption, stop: AbortSignal | undefined): Promise<NodesAnswer> {
  const base = /^https?:\/\//.test(address) ? address.replace(/\/+$/, '') : `http://${address}`;
  let response: Awaited<ReturnType<typeof nsqHttpRequest>>;
  try {
    response = await nsqHttpRequest(`${base}/nodes`, {
      headers: { Accept: 'application/vnd.nsq; version=1.0' },
      signal: stop === undefined ? AbortSignal.timeout(ASK_TIMEOUT_MS) : AbortSignal.any([AbortSignal.timeout(ASK_TIMEOUT_MS), stop]),
      tls,
    });
  } catch (error) {
    // Aborted by the start's signal, the answer is not read; by the timeout, Node says only "aborted".
    if (stop?.aborted !== true && (error as Error).name === 'AbortError') return { problem: `no answer within ${ASK_TIMEOUT_MS / 1000}s`, notLookupd: false };
    // A TCP port (nsqd's or lookupd's) answers, but not with HTTP: certainly no lookupd's HTTP API.
    return { problem: (error as Error).message, notLookupd: isNotHttpAnswer(error) };
  }
  if (response.status === 404 && errorMessageOf(response.text) === 'NOT_FOUND') {
    return { problem: `${base}/nodes answered 404 NOT_FOUND: ${NOT_A_LOOKUPD}`, notLookupd: true };
  }
  if (response.status !== 200) return { problem: `${base}/nodes answered ${response.status}`, notLookupd: false };
  try {
    // /nodes lists producers as /lookup does: the client's reader joins an IPv6 host in brackets.
    const nodes = parseLookupProducers(JSON.parse(response.text));
    return nodes.length > 0 ? { nodes } : { problem: 'no nsqd registered yet', notLookupd: false };
  } catch {
    return { problem: `${base}/nodes answered 200 with no list of producers: this is not an nsqlookupd`, notLookupd: true };
  }
}

/** The longest wait between two asks of lookupd for a first nsqd, in ms (the poll interval when shorter). */
const FIRST_NSQD_POLL_MS = 5000;

/**
 * Where the worker connects and publishes: to the --nsqd-tcp-address given, at once; else to the
 * nsqd the lookupds list (/nodes). Every --lookupd-http-address is then asked at start, and one that
 * answers as no lookupd (nsqd's HTTP port: 404 NOT_FOUND; a TCP port: not HTTP) is refused whatever
 * the others answer. While none lists an nsqd, or none answers, the start waits, as go-nsq's
 * consumers do: the lookupds are asked again every --lookupd-poll-interval, at most every 5 s, with a
 * warning whenever the answers change.
 * @returns undefined when `stopWaiting` aborted that wait (a signal during the start).
 * @throws RunnerError E_USAGE for --nsqd-http-address given a different number of times than
 *   --nsqd-tcp-address, and for an address that answers as no lookupd.
 */
export async function remoteEndpoints(settings: RunSettings, logger: Logger, stopWaiting?: AbortSignal): Promise<Endpoints | undefined> {
  const { nsqdTcpAddresses, nsqdHttpAddresses, lookupdHttpAddresses } = settings;
  if (nsqdHttpAddresses.length > 0 && nsqdHttpAddresses.length !== nsqdTcpAddresses.length) {
    throw new RunnerError(
      RunnerErrorCode.Usage,
      `--nsqd-http-address is given ${nsqdHttpAddresses.length} time(s) for ${nsqdTcpAddresses.length} --nsqd-tcp-address: give one per nsqd, in the same order`,
    );
  }
  const endpoints = (publishAddresses: string[]): Endpoints => ({ nsqdTcpAddresses, lookupdHttpAddresses, publishAddresses });
  // An nsqd given is enough to start: the lookupds are the consumers' to ask (and to warn of), not the start's to wait for.
  if (nsqdTcpAddresses.length > 0) return endpoints(nsqdTcpAddresses);
  const { tls } = clientSecurity(settings);
  const everyMs = Math.min(settings.lookupdPollIntervalMs, FIRST_NSQD_POLL_MS);
  let said = '';
  for (;;) {
    const askedAt = Date.now();
    const answers = await Promise.all(lookupdHttpAddresses.map(async (lookupd) => ({ lookupd, answer: await nodesFromLookupd(lookupd, tls, stopWaiting) })));
    if (stopWaiting?.aborted === true) break;
    for (const { lookupd, answer } of answers) {
      if ('problem' in answer && answer.notLookupd) throw new RunnerError(RunnerErrorCode.Usage, `--lookupd-http-address ${lookupd}: ${answer.problem}`);
    }
    const nodes = [...new Set(answers.flatMap(({ answer }) => ('nodes' in answer ? answer.nodes : [])))];
    if (nodes.length > 0) {
      if (said !== '') logger.info({ publishAddresses: nodes }, `lookupd lists an nsqd now: starting`);
      return endpoints(nodes);
    }
    const text = answers.map(({ lookupd, answer }) => `${lookupd}: ${'problem' in answer ? answer.problem : ''}`).join('; ');
    if (text !== said) {
      logger.warn(
        { lookupd: lookupdHttpAddresses },
        `no nsqd to publish to yet: waiting for one to register with lookupd, asking every ${formatDurationMs(everyMs)} (${text}); or give --nsqd-tcp-address`,
      );
      said = text;
    }
    try {
      // Every 5 s from ask to ask: a lookupd that took its 5 s to time out has used the wait.
      await delay(Math.max(0, everyMs - (Date.now() - askedAt)), undefined, { signal: stopWaiting });
    } catch {
      break;
    }
  }
  logger.info('stopped while waiting for an nsqd');
  return undefined;
}

/**
 * Where each nsqd's HTTP API is, for creating the task channels: lookupd's http_port for an nsqd it
 * lists; for an --nsqd-tcp-address, the --nsqd-http-address in the same position, else the TCP port
 * + 1 (nsqd's 4150/4151 convention) if the nsqd answering there says that TCP port is its own.
 */
export function httpAddressResolver(settings: Pick<RunSettings, 'nsqdTcpAddresses' | 'nsqdHttpAddresses'>, tls?: TlsOption): HttpAddressResolver {
  const derived = new Map<string, Promise<string | undefined>>();
  const probe = async (tcpAddress: string): Promise<string | undefined> => {
    try {
      const { host, port } = parseHostPort(tcpAddress);
      const candidate = joinHostPort(host, port + 1);
      return (await new NsqdHttp(candidate, 2000, tls).info()).tcpPort === port ? candidate : undefined;
    } catch {
      return undefined;
    }
  };
  return async (nsqd) => {
    if (nsqd.httpAddress !== undefined) return nsqd.httpAddress;
    const index = settings.nsqdTcpAddresses.indexOf(nsqd.tcpAddress);
    const given = index < 0 ? undefined : settings.nsqdHttpAddresses[index];
    if (given !== undefined) return given;
    let found = derived.get(nsqd.tcpAddress);
    if (found === undefined) {
      found = probe(nsqd.tcpAddress);
      derived.set(nsqd.tcpAddress, found);
      // Only an answer is kept: a failed probe is tried again on the next connection.
      void found.then((address) => address === undefined && derived.delete(nsqd.tcpAddress));
    }
    return found;
  };
}

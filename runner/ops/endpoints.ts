/**
 * Where a worker connects when NSQ is remote: the nsqd and lookupd addresses it was given, and an
 * nsqd to publish to (the first nsqd given, else the nodes lookupd knows).
 */
import { errorMessageOf, nsqHttpRequest } from '../../client/http-request.ts';
import type { TlsOption } from '../../client/options.ts';
import { clientSecurity } from '../config/client-security.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import type { Endpoints } from './bind.ts';
import type { RunSettings } from '../config/settings.ts';
import { joinHostPort, parseHostPort } from '../../protocol/address.ts';
import { NsqdHttp } from './nsqd-http.ts';
import type { HttpAddressResolver } from './task-channels.ts';

async function nodesFromLookupd(address: string, tls: TlsOption): Promise<string[]> {
  const base = /^https?:\/\//.test(address) ? address.replace(/\/+$/, '') : `http://${address}`;
  const response = await nsqHttpRequest(`${base}/nodes`, {
    headers: { Accept: 'application/vnd.nsq; version=1.0' },
    signal: AbortSignal.timeout(5000),
    tls,
  });
  if (response.status === 404 && errorMessageOf(response.text) === 'NOT_FOUND') {
    throw new Error(`${base}/nodes answered 404 NOT_FOUND: this is not an nsqlookupd (an nsqd's HTTP address? lookupd's HTTP port is 4161 by default)`);
  }
  if (response.status !== 200) throw new Error(`${base}/nodes answered ${response.status}`);
  const body = JSON.parse(response.text) as { producers?: Array<{ broadcast_address?: string; tcp_port?: number }> };
  return (body.producers ?? [])
    .filter((node) => typeof node.broadcast_address === 'string' && typeof node.tcp_port === 'number')
    .map((node) => `${node.broadcast_address}:${node.tcp_port}`);
}

export async function remoteEndpoints(settings: RunSettings): Promise<Endpoints> {
  const { nsqdTcpAddresses, nsqdHttpAddresses } = settings;
  if (nsqdHttpAddresses.length > 0 && nsqdHttpAddresses.length !== nsqdTcpAddresses.length) {
    throw new RunnerError(
      RunnerErrorCode.Usage,
      `--nsqd-http-address is given ${nsqdHttpAddresses.length} time(s) for ${nsqdTcpAddresses.length} --nsqd-tcp-address: give one per nsqd, in the same order`,
    );
  }
  let publishAddresses = settings.nsqdTcpAddresses;
  // What each lookupd answered, when none listed an nsqd: an address that is no lookupd says so here.
  const answers: string[] = [];
  if (publishAddresses.length === 0) {
    for (const lookupd of settings.lookupdHttpAddresses) {
      try {
        publishAddresses = await nodesFromLookupd(lookupd, clientSecurity(settings).tls);
      } catch (error) {
        answers.push(`${lookupd}: ${(error as Error).message}`);
        continue;
      }
      if (publishAddresses.length > 0) break;
      answers.push(`${lookupd}: no nsqd registered yet`);
    }
  }
  if (publishAddresses.length === 0) {
    throw new RunnerError(
      RunnerErrorCode.Usage,
      `no nsqd to publish to: give --nsqd-tcp-address, or a --lookupd-http-address that lists at least one nsqd${answers.length === 0 ? '' : ` (${answers.join('; ')})`}`,
    );
  }
  return { nsqdTcpAddresses: settings.nsqdTcpAddresses, lookupdHttpAddresses: settings.lookupdHttpAddresses, publishAddresses };
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

/**
 * Where a worker connects when NSQ is remote: the nsqd and lookupd addresses it was given, and an
 * nsqd to publish to (the first nsqd given, else the nodes lookupd knows).
 */
import { RunnerError, RunnerErrorCode } from '../errors.ts';
import type { Endpoints } from './bind.ts';
import type { RunSettings } from '../config/settings.ts';

async function nodesFromLookupd(address: string): Promise<string[]> {
  const base = /^https?:\/\//.test(address) ? address.replace(/\/+$/, '') : `http://${address}`;
  const response = await fetch(`${base}/nodes`, {
    headers: { Accept: 'application/vnd.nsq; version=1.0' },
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`${base}/nodes answered ${response.status}`);
  const body = (await response.json()) as { producers?: Array<{ broadcast_address?: string; tcp_port?: number }> };
  return (body.producers ?? [])
    .filter((node) => typeof node.broadcast_address === 'string' && typeof node.tcp_port === 'number')
    .map((node) => `${node.broadcast_address}:${node.tcp_port}`);
}

export async function remoteEndpoints(settings: RunSettings): Promise<Endpoints> {
  let publishAddresses = settings.nsqdTcpAddresses;
  if (publishAddresses.length === 0) {
    for (const lookupd of settings.lookupdHttpAddresses) {
      try {
        publishAddresses = await nodesFromLookupd(lookupd);
      } catch {
        continue;
      }
      if (publishAddresses.length > 0) break;
    }
  }
  if (publishAddresses.length === 0) {
    throw new RunnerError(
      RunnerErrorCode.Usage,
      'no nsqd to publish to: give --nsqd-tcp-address, or a --lookupd-http-address that lists at least one nsqd',
    );
  }
  return { nsqdTcpAddresses: settings.nsqdTcpAddresses, lookupdHttpAddresses: settings.lookupdHttpAddresses, publishAddresses };
}

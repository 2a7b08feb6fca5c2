/**
 * What a client does with nsqd's IDENTIFY answer (go-nsq `conn.go` identify): the upgrades it turned
 * on, in the order they happen (TLS, snappy, deflate), each checked against what we asked for, and
 * the Node TLS options for the handshake.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsConnectOptions } from 'node:tls';
import type { FrameDecoder } from '../protocol/frames.ts';
import type { IdentifyResponse } from '../protocol/identify.ts';
import { ClientErrorCode, NsqClientError } from './errors.ts';
import { parseHostPort } from './handshake.ts';
import type { ConnectionOptions, TlsOption } from './options.ts';
import type { ClientTransport } from './transport.ts';
import { tlsFailureReason } from './tls-failure.ts';

export type UpgradeStep = 'tls' | 'snappy' | 'deflate';

/**
 * The upgrades to run. Throws {@link NsqClientError} `E_UNSUPPORTED_FEATURE` when the server turned
 * on something this client did not ask for, or `E_TLS_REQUIRED_BY_CLIENT` when we asked for TLS and
 * the server does not offer it (going on in plain text would leak what TLS was meant to protect).
 */
export function upgradeSteps(answer: IdentifyResponse, options: ConnectionOptions, address: string): UpgradeStep[] {
  const wantTls = options.tls !== false;
  if (wantTls && !answer.tls_v1) {
    throw new NsqClientError(ClientErrorCode.TlsFailed, `${address} does not offer TLS (no --tls-cert/--tls-key), and tls is set`);
  }
  if ((answer.tls_v1 && !wantTls) || (answer.snappy && !options.snappy) || (answer.deflate && !options.deflate)) {
    throw new NsqClientError(ClientErrorCode.UnsupportedFeature, `${address} turned on a feature this client did not ask for`);
  }
  const steps: UpgradeStep[] = [];
  if (answer.tls_v1) steps.push('tls');
  if (answer.snappy) steps.push('snappy');
  if (answer.deflate) steps.push('deflate');
  return steps;
}

/** What a Consumer or Producer emits as `warning` when nsqd did not turn on the compression asked for. */
export interface CompressionDeclinedWarning {
  code: 'W_COMPRESSION_DECLINED';
  message: string;
}

/**
 * `W_COMPRESSION_DECLINED` when this client asked `address` for snappy or deflate and its IDENTIFY
 * answer did not turn it on, else undefined: nsqd v1.3.0 answers `snappy: false` / `deflate: false`
 * when run with `--snappy=false` / `--deflate=false`, and the connection goes on uncompressed (go-nsq
 * and nsqjs say nothing; we warn). Undefined too for a server that answered IDENTIFY without feature
 * negotiation (`answer` undefined).
 */
export function compressionDeclined(
  address: string,
  answer: IdentifyResponse | undefined,
  options: Pick<ConnectionOptions, 'snappy' | 'deflate'>,
): CompressionDeclinedWarning | undefined {
  if (answer === undefined) return undefined;
  const declined = options.snappy && !answer.snappy ? 'snappy' : options.deflate && !answer.deflate ? 'deflate' : undefined;
  if (declined === undefined) return undefined;
  return { code: 'W_COMPRESSION_DECLINED', message: `${address} did not turn on ${declined} (nsqd runs with --${declined}=false): this connection is not compressed` };
}

/** Node's options for the TLS handshake with `host` (the server's name or IP is verified unless told not to). */
export function tlsConnectOptions(option: TlsOption, host: string): TlsConnectOptions {
  const given = option === true || option === false ? {} : option;
  // SNI takes names only; a certificate for an IP address is still checked against `host`.
  const servername = given.servername ?? (isIP(host) === 0 ? host : undefined);
  return { host, ...given, ...(servername === undefined ? {} : { servername }) };
}

/** What one upgrade step works on. */
export interface UpgradeContext {
  transport: ClientTransport;
  /** The frame decoder, inside the callback of the frame that precedes the upgrade. */
  decoder: FrameDecoder;
  options: ConnectionOptions;
  address: string;
  fail: (error: Error) => void;
}

/**
 * Starts one upgrade on the transport. Called from the callback of the frame before it (the JSON
 * answer, or the previous upgrade's OK): bytes read past that frame belong to the new layer and are
 * handed to it. The server confirms with an OK read through the new layer.
 */
export function startUpgrade(step: UpgradeStep, { transport, decoder, options, address, fail }: UpgradeContext): void {
  if (step === 'tls') {
    decoder.divert(() => fail(new NsqClientError(ClientErrorCode.UnexpectedFrame, `${address} sent data before the TLS handshake`)));
    transport.startTls(tlsConnectOptions(options.tls, parseHostPort(address).host)).catch((cause: Error) => {
      fail(new NsqClientError(ClientErrorCode.TlsFailed, `${address}: TLS handshake failed: ${tlsFailureReason(cause, options.tls)}`, { cause }));
    });
    return;
  }
  if (step === 'snappy') transport.startSnappy();
  else transport.startDeflate(options.deflateLevel);
  decoder.divert((rest) => transport.receive(rest));
}

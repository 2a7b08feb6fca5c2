/**
 * IDENTIFY negotiation: the client's wishes checked against the broker's bounds in nsqd's order
 * (heartbeat, output buffer timeout then size, sample rate, msg timeout), and the JSON answer.
 * TLS, snappy and deflate are negotiated as in nsqd v1.3.0's `protocolV2.IDENTIFY` (`nsqd/protocol_v2.go`):
 * each is on when the broker offers it and the client asks for it; both compressions at once is fatal.
 */
import { ErrorCode, ProtocolError } from '../../protocol/errors.ts';
import { IdentifyRequestSchema, type IdentifyRequest, type IdentifyResponse } from '../../protocol/identify.ts';
import { NSQD_VERSION, type BrokerOptions } from './options.ts';

/** What a client has negotiated; defaults come from the broker's options. */
export interface ClientSettings {
  clientId: string;
  hostname: string;
  userAgent: string;
  /** 0 when heartbeats are disabled. */
  heartbeatIntervalMs: number;
  outputBufferSize: number;
  /** 0 when disabled. */
  outputBufferTimeoutMs: number;
  sampleRate: number;
  msgTimeoutMs: number;
  deflateLevel: number;
}

export function defaultClientSettings(options: BrokerOptions, remoteHost: string): ClientSettings {
  return {
    clientId: remoteHost,
    hostname: remoteHost,
    userAgent: '',
    heartbeatIntervalMs: options.clientTimeoutMs / 2,
    outputBufferSize: 16384,
    outputBufferTimeoutMs: options.outputBufferTimeoutMs,
    sampleRate: 0,
    msgTimeoutMs: options.msgTimeoutMs,
    deflateLevel: 6,
  };
}

const invalid = (reason: string): ProtocolError => new ProtocolError(ErrorCode.BadBody, `IDENTIFY ${reason}`);

/** Go's key folding for matching JSON names to struct fields (ASCII case, and `ſ` as `s`; `K` lower-cases to `k`). */
const foldKey = (key: string): string => key.toLowerCase().replaceAll('ſ', 's');
const FIELD_BY_FOLDED_KEY = new Map(Object.keys(IdentifyRequestSchema.shape).map((field) => [foldKey(field), field]));

/**
 * Go's decoder matches a JSON key to a field exactly or, failing that, ignoring case, and a later key
 * for the same field overwrites an earlier one: `{"MSG_TIMEOUT": 5000}` sets msg_timeout in nsqd.
 */
function canonicalKeys(json: unknown): unknown {
  if (json === null) return {}; // json.Unmarshal of `null` leaves the struct as it is: an empty IDENTIFY.
  if (typeof json !== 'object' || Array.isArray(json)) return json;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = FIELD_BY_FOLDED_KEY.get(foldKey(key));
    if (field !== undefined) out[field] = value;
  }
  return out;
}

/** Parses an IDENTIFY body; throws nsqd's `E_BAD_BODY` errors. */
export function parseIdentifyBody(body: Buffer): IdentifyRequest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('failed to decode JSON body');
  }
  const parsed = IdentifyRequestSchema.safeParse(canonicalKeys(json));
  if (!parsed.success) throw invalid('failed to decode JSON body');
  return parsed.data;
}

/** Applies an IDENTIFY to the client's settings, checking every bound as nsqd does. */
export function negotiate(current: ClientSettings, request: IdentifyRequest, options: BrokerOptions): ClientSettings {
  const next: ClientSettings = { ...current };
  // Set whether given or not: nsqd's Identify assigns all three (nsqd/client_v2.go), so a client that
  // sends none is shown with empty ones, not with the remote host it had before IDENTIFY.
  next.clientId = request.client_id ?? '';
  next.hostname = request.hostname ?? '';
  next.userAgent = request.user_agent ?? '';

  const heartbeat = request.heartbeat_interval ?? 0;
  if (heartbeat === -1) next.heartbeatIntervalMs = 0;
  else if (heartbeat >= 1000 && heartbeat <= options.maxHeartbeatIntervalMs) next.heartbeatIntervalMs = heartbeat;
  else if (heartbeat !== 0) throw invalid(`heartbeat interval (${heartbeat}) is invalid`);

  const bufferTimeout = request.output_buffer_timeout ?? 0;
  if (bufferTimeout === -1) next.outputBufferTimeoutMs = 0;
  else if (bufferTimeout >= options.minOutputBufferTimeoutMs && bufferTimeout <= options.maxOutputBufferTimeoutMs) {
    next.outputBufferTimeoutMs = bufferTimeout;
  } else if (bufferTimeout !== 0) throw invalid(`output buffer timeout (${bufferTimeout}) is invalid`);

  const bufferSize = request.output_buffer_size ?? 0;
  if (bufferSize === -1) {
    next.outputBufferSize = 1;
    next.outputBufferTimeoutMs = 0;
  } else if (bufferSize >= 64 && bufferSize <= options.maxOutputBufferSize) next.outputBufferSize = bufferSize;
  else if (bufferSize !== 0) throw invalid(`output buffer size (${bufferSize}) is invalid`);

  const sampleRate = request.sample_rate ?? 0;
  if (sampleRate < 0 || sampleRate > 99) throw invalid(`sample rate (${sampleRate}) is invalid`);
  next.sampleRate = sampleRate;

  const msgTimeout = request.msg_timeout ?? 0;
  if (msgTimeout >= 1000 && msgTimeout <= options.maxMsgTimeoutMs) next.msgTimeoutMs = msgTimeout;
  else if (msgTimeout !== 0) throw invalid(`msg timeout (${msgTimeout}) is invalid`);

  // nsqd's default level, 6, capped at max-deflate-level; negotiateFeatures takes the client's level
  // when deflate is on.
  next.deflateLevel = Math.min(6, options.maxDeflateLevel);
  return next;
}

/** The stream upgrades one IDENTIFY turns on, in nsqd's order of application: TLS, snappy, deflate. */
export interface NegotiatedFeatures {
  tls: boolean;
  snappy: boolean;
  deflate: boolean;
  /** 1-9: the client's `deflate_level` when deflate is on and it gave one (else 6), capped at max-deflate-level. */
  deflateLevel: number;
}

/**
 * What the broker turns on for a `feature_negotiation` IDENTIFY. Throws nsqd's fatal
 * `E_IDENTIFY_FAILED cannot enable both deflate and snappy compression`.
 */
export function negotiateFeatures(request: IdentifyRequest, options: BrokerOptions, tlsOffered: boolean): NegotiatedFeatures {
  const tls = tlsOffered && request.tls_v1 === true;
  const deflate = options.deflate && request.deflate === true;
  let deflateLevel = 6;
  if (deflate && (request.deflate_level ?? 0) > 0) deflateLevel = request.deflate_level!;
  deflateLevel = Math.min(deflateLevel, options.maxDeflateLevel);
  const snappy = options.snappy && request.snappy === true;
  if (deflate && snappy) throw new ProtocolError(ErrorCode.IdentifyFailed, 'cannot enable both deflate and snappy compression');
  return { tls, snappy, deflate, deflateLevel };
}

/** The feature-negotiation answer, in nsqd's field order. */
export function identifyResponse(settings: ClientSettings, options: BrokerOptions, features: NegotiatedFeatures): IdentifyResponse {
  return {
    max_rdy_count: options.maxRdyCount,
    version: NSQD_VERSION,
    max_msg_timeout: options.maxMsgTimeoutMs,
    msg_timeout: settings.msgTimeoutMs,
    tls_v1: features.tls,
    deflate: features.deflate,
    deflate_level: features.deflateLevel,
    max_deflate_level: options.maxDeflateLevel,
    snappy: features.snappy,
    sample_rate: settings.sampleRate,
    auth_required: options.authHttpAddresses.length > 0,
    output_buffer_size: settings.outputBufferSize,
    output_buffer_timeout: settings.outputBufferTimeoutMs,
  };
}

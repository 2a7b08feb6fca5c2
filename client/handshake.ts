/**
 * The pure half of a connection's handshake: the address to dial, and what nsqd's answer to IDENTIFY
 * means. No sockets here; connection.ts drives the exchange.
 */
import { parseHostPort as splitHostPort } from '../protocol/address.ts';
import { IdentifyResponseSchema, type IdentifyResponse } from '../protocol/identify.ts';
import { ClientErrorCode, NsqClientError } from './errors.ts';

/** What nsqd told us at IDENTIFY, with nsqd's defaults when it answered a plain `OK` (an old server). */
export interface ServerIdentity {
  maxRdyCount: number;
  msgTimeoutMs: number;
  maxMsgTimeoutMs: number;
  /** The full negotiated answer; undefined for an old server. */
  negotiated: IdentifyResponse | undefined;
}

export const DEFAULT_IDENTITY: ServerIdentity = { maxRdyCount: 2500, msgTimeoutMs: 60_000, maxMsgTimeoutMs: 900_000, negotiated: undefined };

/** Splits an nsqd address to dial (`host:port`, `[::1]:4150`); an empty host means this machine. */
export function parseHostPort(address: string): { host: string; port: number } {
  let parsed: { host: string; port: number };
  try {
    parsed = splitHostPort(address);
  } catch {
    throw new NsqClientError(ClientErrorCode.InvalidOptions, `expected host:port, got ${JSON.stringify(address)}`);
  }
  if (parsed.port === 0) throw new NsqClientError(ClientErrorCode.InvalidOptions, `bad port in ${JSON.stringify(address)}`);
  return { host: parsed.host || '127.0.0.1', port: parsed.port };
}

/**
 * Reads IDENTIFY's answer from `address`: JSON when the server negotiates, a bare OK from an old
 * server (which gets nsqd's defaults). Returns the error to close with when the answer is unreadable.
 * The upgrades it turns on are checked by `upgradeSteps` (upgrade.ts).
 */
export function readIdentifyAnswer(address: string, data: Buffer): ServerIdentity | NsqClientError {
  if (data[0] !== 0x7b) return DEFAULT_IDENTITY;
  let negotiated: IdentifyResponse;
  try {
    negotiated = IdentifyResponseSchema.parse(JSON.parse(data.toString()));
  } catch (cause) {
    return new NsqClientError(ClientErrorCode.UnexpectedFrame, `${address} sent an unreadable IDENTIFY response`, { cause });
  }
  return {
    maxRdyCount: negotiated.max_rdy_count,
    msgTimeoutMs: negotiated.msg_timeout,
    maxMsgTimeoutMs: negotiated.max_msg_timeout,
    negotiated,
  };
}

/**
 * `host:port` addresses, as NSQ names its nodes (`broadcast_address:tcp_port`) and as Go's
 * `net.SplitHostPort` / `net.JoinHostPort` read and write them. Shared by the broker, the lookupd,
 * the client and the runner.
 */
import { CodedError } from './coded-error.ts';

export interface HostPort {
  /** Empty means every interface, as Go's `:4160`. IPv6 literals are kept without brackets. */
  host: string;
  port: number;
}

export class AddressError extends CodedError<'E_INVALID_ADDRESS'> {
  override readonly name = 'AddressError';
}

/** Whether `address` is one {@link parseHostPort} takes. */
export function isHostPort(address: string): boolean {
  try {
    parseHostPort(address);
    return true;
  } catch {
    return false;
  }
}

/** Parses `host:port`, `[v6]:port` or `:port`. Throws {@link AddressError} `E_INVALID_ADDRESS`. */
export function parseHostPort(address: string): HostPort {
  const invalid = (): AddressError => new AddressError('E_INVALID_ADDRESS', `invalid address ${JSON.stringify(address)}: expected host:port`);
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const close = address.indexOf(']:');
    if (close < 0) throw invalid();
    host = address.slice(1, close);
    portText = address.slice(close + 2);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) throw invalid();
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    // An unbracketed IPv6 literal is ambiguous, and Go refuses it too ("too many colons").
    if (host.includes(':')) throw invalid();
  }
  if (!/^\d{1,5}$/.test(portText)) throw invalid();
  const port = Number(portText);
  if (port > 65535) throw invalid();
  return { host, port };
}

/** `host:port`, bracketing IPv6 literals (Go's `net.JoinHostPort`); an already bracketed host is kept. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The bundled servers as the package exports them. Each starter loads its server's modules on its
 * first call, so an app that only publishes or consumes through `nsqworker` never loads the broker
 * or lookupd (about 6 MB of resident memory in every such process, and their start-up time).
 */
import type { BrokerHandle } from './nsqd/server.ts';
import type { BrokerOptionsInput } from './nsqd/options.ts';
import type { LookupdHandle } from './lookupd/server.ts';
import type { LookupdOptionsInput } from './lookupd/options.ts';

/**
 * Starts the bundled nsqd: state loaded from `dataPath` (a lock file keeps a second broker off it),
 * then the TCP and HTTP listeners bound (port 0 picks a free one; the handle says which). Options
 * and defaults are nsqd v1.3.0's flags in camelCase (`apps/nsqd/options.go`).
 *
 * Errors (each with its `code`; the classes are not exported, so tell them by code): rejects with
 * `E_BROKER_INVALID_OPTIONS` for bad or unknown options (BrokerOptionsError, naming each), `E_TLS_CONFIG`
 * for a TLS file that cannot be read or used, `E_DATA_PATH_LOCKED` for a data path another broker
 * holds (DataPathLockedError, with `dataPath` and the holder's `ownerPid`), `E_DATA_PATH_LOCK_FAILED` when the lock cannot be
 * taken, or Node's own `EADDRINUSE`/`EACCES` for an address that cannot be bound.
 */
export async function startBroker(input: BrokerOptionsInput = {}): Promise<BrokerHandle> {
  const server = await import('./nsqd/server.ts');
  return server.startBroker(input);
}

/**
 * Starts the bundled nsqlookupd: the TCP listener nsqd registers over and the HTTP API consumers
 * and nsqadmin query (`nsqlookupd/http.go` of v1.3.0). Rejects with `E_LOOKUPD_INVALID_OPTIONS` on
 * bad options or `E_LOOKUPD_LISTEN_FAILED` when a port cannot be bound (LookupdError, told by its `code`).
 */
export async function startLookupd(input: LookupdOptionsInput = {}): Promise<LookupdHandle> {
  const server = await import('./lookupd/server.ts');
  return server.startLookupd(input);
}

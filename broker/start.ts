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
 * Errors: rejects on bad options (zod's error, naming the option), a data path another broker holds
 * (`DataPathLockedError`), or an address that cannot be bound (Node's `EADDRINUSE` error).
 */
export async function startBroker(input: BrokerOptionsInput = {}): Promise<BrokerHandle> {
  const server = await import('./nsqd/server.ts');
  return server.startBroker(input);
}

/**
 * Starts the bundled nsqlookupd: the TCP listener nsqd registers over and the HTTP API consumers
 * and nsqadmin query (`nsqlookupd/http.go` of v1.3.0). Rejects with `LookupdError` on bad options
 * or when a port cannot be bound.
 */
export async function startLookupd(input: LookupdOptionsInput = {}): Promise<LookupdHandle> {
  const server = await import('./lookupd/server.ts');
  return server.startLookupd(input);
}

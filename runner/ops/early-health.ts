/**
 * The health server, listening before the worker is planned: loading the config and the worker's
 * code through tsx takes a second or more, and an orchestrator probing /healthz meanwhile should get
 * a 503 `starting`, not a refused connection. The address is read from the command line and the
 * environment only (they outrank the config file, so whatever they say is the final value); a bad
 * value is left for the settings to report with the rest.
 */
import { parseHealthAddress } from '../config/health-address.ts';
import { listenHealthServer, type HealthServer } from './health.ts';

const FLAG = '--health-address';

/**
 * `--health-address` from argv (the last one wins, as for every flag), else NSQWORKER_HEALTH_ADDRESS:
 * an address, '' when they turn it off, undefined when they do not say (or say something invalid).
 */
export function healthAddressBeforeConfig(args: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return undefined;
    if (arg === FLAG) found = args[++i];
    else if (arg.startsWith(`${FLAG}=`)) found = arg.slice(FLAG.length + 1);
  }
  if (found === undefined && env.NSQWORKER_HEALTH_ADDRESS !== '') found = env.NSQWORKER_HEALTH_ADDRESS;
  return found === '' ? '' : valid(found);
}

function valid(address: unknown): string | undefined {
  if (typeof address !== 'string') return undefined;
  try {
    parseHealthAddress(address);
    return address;
  } catch {
    return undefined;
  }
}

/** Listens at once when `address` is a valid one; undefined otherwise (the settings report a bad one). */
export async function listenEarly(address: unknown): Promise<HealthServer | undefined> {
  const checked = valid(address);
  return checked === undefined ? undefined : listenHealthServer(checked);
}

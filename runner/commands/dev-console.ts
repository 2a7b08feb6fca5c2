/**
 * The console beside `nsqworker dev`, on the embedded broker. It is a convenience: when its address
 * is taken (a real nsqadmin, another `dev`), dev says so once and runs on without it.
 */
import type { Logger } from 'pino';
import type { ConsoleHandle } from '../../console/server/server.ts';
import { isHostPort } from '../../protocol/address.ts';
import { UsageError } from '../config/flags.ts';

export const DEV_CONSOLE_ADDRESS = '127.0.0.1:4171';

/** The environment variable that sets the console's address when `--console-address` is not given. */
export const CONSOLE_ADDRESS_VARIABLE = 'NSQWORKER_CONSOLE_ADDRESS';

/**
 * The console's address: `flag` (--console-address), else `env`'s NSQWORKER_CONSOLE_ADDRESS, else
 * DEV_CONSOLE_ADDRESS, when it is host:port or `off`. A malformed one is the user's to fix before
 * anything starts, as the broker's are (UsageError, exit 2, naming the flag or the variable it came
 * from); one that is taken only leaves dev without it.
 */
export function checkConsoleAddress(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const fromEnvironment = flag === undefined ? env[CONSOLE_ADDRESS_VARIABLE] : undefined;
  const address = flag ?? fromEnvironment ?? DEV_CONSOLE_ADDRESS;
  if (address === 'off' || address === '' || isHostPort(address)) return address;
  const source = fromEnvironment === undefined ? '--console-address' : CONSOLE_ADDRESS_VARIABLE;
  throw new UsageError(`${source} ${JSON.stringify(address)}: expected host:port (e.g. ${DEV_CONSOLE_ADDRESS}; port 0 picks a free one), or off to skip the console`);
}

export async function startDevConsole(address: string, nsqdHttpAddress: string, logger: Logger): Promise<ConsoleHandle | undefined> {
  if (address === '' || address === 'off') return undefined;
  try {
    // Loaded on use: `dev` is the only run that hosts the console, and a worker's process never does.
    const { startConsole } = await import('../../console/server/server.ts');
    // It logs its URL ("console: listening on http://…") once it listens.
    return await startConsole({ httpAddress: address, nsqdHttpAddresses: [nsqdHttpAddress], logger: logger.child({ component: 'console' }) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? `${address} is taken` : (error as Error).message;
    logger.warn({ address, err: code === 'EADDRINUSE' ? undefined : error }, `console not started: ${why}; dev runs on without it (--console-address to move it, off to skip it)`);
    return undefined;
  }
}

/** `nsqworker broker` (alias `nsqd`) and `nsqworker lookupd`: the bundled servers, with nsqd's flag names. */
import type { CAC } from 'cac';
import { startLookupd } from '../../broker/lookupd/server.ts';
import { LOOKUPD_FLAGS } from '../../broker/lookupd/options.ts';
import { startBroker } from '../../broker/nsqd/server.ts';
import { BROKER_FLAGS } from '../../broker/nsqd/options.ts';
import { BrokerTlsError } from '../../broker/nsqd/tls-context.ts';
import { addFlags, optionsFromFlags, UsageError } from '../config/flags.ts';
import { createLogger, type LogLevel } from '../ops/log.ts';
import { onShutdownSignal } from '../ops/shutdown.ts';

export function registerServerCommands(cli: CAC): void {
  addFlags(cli.command('broker', 'Run the bundled nsqd-compatible broker').alias('nsqd'), BROKER_FLAGS)
    .option('--log-level <level>', 'debug, info, warn, error', { default: 'info' })
    .example('nsqworker broker --tcp-address 127.0.0.1:4150 --http-address 127.0.0.1:4151 --data-path ./data')
    .action(async (flags: Record<string, unknown>) => {
      const logger = createLogger(flags.logLevel as LogLevel, 'nsqd');
      const broker = await startBroker({ ...optionsFromFlags(flags, BROKER_FLAGS), logger }).catch((error: unknown) => {
        // A certificate, key or CA file that cannot be read (named by its flag), or TLS required without one: exit 2.
        throw error instanceof BrokerTlsError ? new UsageError(error.message, { cause: error }) : error;
      });
      onShutdownSignal(logger, () => broker.close(), { beforeForcedExit: () => broker.nsqd.persistAndClose() });
    });

  addFlags(cli.command('lookupd', 'Run the bundled nsqlookupd-compatible discovery server').alias('nsqlookupd'), LOOKUPD_FLAGS)
    .option('--log-level <level>', 'debug, info, warn, error', { default: 'info' })
    .action(async (flags: Record<string, unknown>) => {
      const logger = createLogger(flags.logLevel as LogLevel, 'nsqlookupd');
      const lookupd = await startLookupd({ ...optionsFromFlags(flags, LOOKUPD_FLAGS), logger });
      onShutdownSignal(logger, () => lookupd.close());
    });
}

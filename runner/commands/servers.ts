/** `nsqworker broker` (alias `nsqd`) and `nsqworker lookupd`: the bundled servers, with nsqd's flag names. */
import type { CAC } from 'cac';
import { LOOKUPD_FLAGS, LookupdOptionsSchema } from '../../broker/lookupd/options.ts';
import { startBroker } from '../../broker/nsqd/server.ts';
import { BROKER_FLAGS, BrokerOptionsSchema } from '../../broker/nsqd/options.ts';
import { BrokerTlsError } from '../../broker/nsqd/tls-context.ts';
import { addFlags, checkFlagOptions, optionsFromFlags, UsageError, type FlagSpec } from '../config/flags.ts';
import { listenOrExplain, type ListenFlag } from '../ops/address-in-use.ts';
import { createLogger, type LogLevel } from '../ops/log.ts';
import { onShutdownSignal } from '../ops/shutdown.ts';

const LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A log level pino knows; anything else would throw from inside pino, with its stack. */
function logLevel(value: unknown): LogLevel {
  const level = String(value);
  if (!LEVELS.includes(level)) throw new UsageError(`--log-level ${JSON.stringify(level)}: expected one of ${LEVELS.join(', ')}`);
  return level as LogLevel;
}

/** The addresses a server listens on, by flag, for a one-line "in use" error. */
function listens(options: Record<string, unknown>, defaults: { tcp: string; http: string }): ListenFlag[] {
  return [
    { flag: '--tcp-address', address: String(options.tcpAddress ?? defaults.tcp) },
    { flag: '--http-address', address: String(options.httpAddress ?? defaults.http) },
  ];
}

export function registerServerCommands(cli: CAC): void {
  addFlags(cli.command('broker', 'Run the bundled nsqd-compatible broker').alias('nsqd'), BROKER_FLAGS, BrokerOptionsSchema.parse({}))
    .option('--log-level <level>', 'debug, info, warn, error', { default: 'info' })
    .example('nsqworker broker --tcp-address 127.0.0.1:4150 --http-address 127.0.0.1:4151 --data-path ./data')
    .action(async (flags: Record<string, unknown>) => {
      const options = optionsFromFlags(flags, BROKER_FLAGS);
      checkFlagOptions(BrokerOptionsSchema, options, BROKER_FLAGS);
      const logger = createLogger(logLevel(flags.logLevel), 'nsqd');
      const broker = await listenOrExplain(listens(options, { tcp: '0.0.0.0:4150', http: '0.0.0.0:4151' }), () => startBroker({ ...options, logger })).catch(
        (error: unknown) => {
          // A certificate, key or CA file that cannot be read (named by its flag), or TLS required without one: exit 2.
          throw error instanceof BrokerTlsError ? new UsageError(error.message, { cause: error }) : error;
        },
      );
      onShutdownSignal(logger, () => broker.close(), { beforeForcedExit: () => broker.nsqd.persistAndClose() });
    });

  addFlags(cli.command('lookupd', 'Run the bundled nsqlookupd-compatible discovery server').alias('nsqlookupd'), LOOKUPD_FLAGS as readonly FlagSpec[], LookupdOptionsSchema.parse({}))
    .option('--log-level <level>', 'debug, info, warn, error', { default: 'info' })
    .action(async (flags: Record<string, unknown>) => {
      const options = optionsFromFlags(flags, LOOKUPD_FLAGS as readonly FlagSpec[]);
      checkFlagOptions(LookupdOptionsSchema, options, LOOKUPD_FLAGS as readonly FlagSpec[]);
      const logger = createLogger(logLevel(flags.logLevel), 'nsqlookupd');
      // Loaded on use: this module is part of every worker's process too, which never runs lookupd.
      const { startLookupd } = await import('../../broker/lookupd/server.ts');
      const lookupd = await listenOrExplain(listens(options, { tcp: '0.0.0.0:4160', http: '0.0.0.0:4161' }), () => startLookupd({ ...options, logger }));
      onShutdownSignal(logger, () => lookupd.close());
    });
}

/** `nsqworker admin` (alias `nsqadmin`): the web console, with nsqadmin's flag names. */
import type { CAC } from 'cac';
import { CONSOLE_FLAGS, DEFAULT_CONSOLE_ADDRESS } from '../../console/server/options.ts';
import { addFlags, optionsFromFlags } from '../config/flags.ts';
import { createLogger, type LogLevel } from '../ops/log.ts';
import { onShutdownSignal } from '../ops/shutdown.ts';
import { listenOrExplain } from '../ops/address-in-use.ts';
import { RunnerError, RunnerErrorCode } from '../errors.ts';

export function registerAdminCommand(cli: CAC): void {
  addFlags(cli.command('admin', 'Run the web console for nsqd and nsqlookupd (nsqadmin\'s flags)').alias('nsqadmin'), CONSOLE_FLAGS)
    .option('--read-only', 'hide and refuse every action (create, pause, empty, delete, tombstone)')
    .option('--http-client-tls-insecure-skip-verify', 'accept certificates of nsqd and lookupd that do not verify (insecure)')
    .option('--log-level <level>', 'debug, info, warn, error', { default: 'info' })
    .example('nsqworker admin --lookupd-http-address 127.0.0.1:4161')
    .example('nsqworker admin --nsqd-http-address 127.0.0.1:4151 --read-only')
    .action(async (flags: Record<string, unknown>) => {
      const logger = createLogger(flags.logLevel as LogLevel, 'nsqadmin');
      const options = optionsFromFlags(flags, CONSOLE_FLAGS);
      // nsqadmin v1.3.0 refuses to start with nothing to show (nsqadmin/nsqadmin.go's New), before it
      // listens; so does this. Both given is taken (nsqadmin refuses that too): an nsqd that lookupd
      // does not know of is shown beside those it does.
      if (options.nsqdHttpAddresses === undefined && options.lookupdHttpAddresses === undefined) {
        throw new RunnerError(RunnerErrorCode.Usage, '--nsqd-http-address or --lookupd-http-address required: an nsqd, or an nsqlookupd, whose topics the console shows');
      }
      // The console logs its URL when it listens.
      // Loaded here, not with the command line: a worker's process never needs the console.
      const { startConsole } = await import('../../console/server/server.ts');
      const listen = [{ flag: '--http-address', address: String(options.httpAddress ?? DEFAULT_CONSOLE_ADDRESS) }];
      const handle = await listenOrExplain(listen, () =>
        startConsole({ ...options, readOnly: flags.readOnly === true, httpClientTlsInsecureSkipVerify: flags.httpClientTlsInsecureSkipVerify === true, logger }),
      );
      onShutdownSignal(logger, () => handle.close());
    });
}

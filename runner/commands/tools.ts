/**
 * `nsqworker pub`, `nsqworker tail` and `nsqworker stats`: NSQ's to_nsq, nsq_tail and nsq_stat, with
 * their flag names. Data goes to stdout (tail's bodies, stats' table); everything else to stderr.
 * Bad flags exit with status 2, run-time failures with 1.
 */
import type { CAC } from 'cac';
import pino from 'pino';
import { UsageError } from '../config/flags.ts';
import {
  checkChannelName,
  checkHostPort,
  checkHttpAddress,
  checkTopicName,
  durationValue,
  intValue,
  listValue,
  requiredString,
  stringValue,
  stringValues,
  unescapeDelimiter,
} from '../tools/args.ts';
import { onShutdownSignal } from '../ops/shutdown.ts';
import { refusalHint } from '../ops/refusal-hints.ts';
import { ToolError, ToolErrorCode } from '../tools/errors.ts';
import { isHttpResponseError } from '../../protocol/frames.ts';
import { addSecurityFlags, securityFromFlags } from '../tools/security-flags.ts';
import { thrownText } from '../../protocol/thrown-text.ts';

const DEFAULT_NSQD_TCP = '127.0.0.1:4150';
const DEFAULT_NSQD_HTTP = '127.0.0.1:4151';

type Flags = Record<string, unknown>;

export function registerToolCommands(cli: CAC): void {
  const argv = (): readonly string[] => cli.rawArgs;

  // Each command's own flags come first in its --help, then the TLS, AUTH and compression ones.
  addSecurityFlags(cli
    .command('pub [...body]', 'Publish messages (like to_nsq): each argument, or each line of stdin')
    .option('--topic <topic>', 'NSQ topic to publish to (required)')
    .option('--nsqd-tcp-address <address>', `nsqd TCP address, may be given more than once: the first is used, the next ones on failure (default: ${DEFAULT_NSQD_TCP})`)
    .option('--delimiter <char>', 'one byte that ends a message on stdin; \\n, \\t, \\r, \\0 are understood (default: newline)')
    .option('--rate <n>', 'throttle to n messages per second; 0 publishes in batches as fast as nsqd takes them (default: 0)'))
    .example('seq 1000 | nsqworker pub --topic numbers')
    .example('nsqworker pub --topic events \'{"id":1}\' \'{"id":2}\'')
    .action(async (bodies: unknown[], flags: Flags) => {
      const topic = checkTopicName(requiredString(argv(), flags, 'topic'));
      const nsqdTcpAddresses = addresses(listValue(argv(), flags, 'nsqd-tcp-address'), [DEFAULT_NSQD_TCP], checkHostPort, 'nsqd-tcp-address');
      const delimiter = delimiterByte(stringValue(argv(), flags, 'delimiter'));
      const rate = intValue(flags, 'rate', 0);
      const security = securityFromFlags(argv(), flags);
      const given = bodies.map(String);
      if (given.some((body) => body === '')) throw new UsageError('message bodies cannot be empty: nsqd refuses empty messages');
      await runTool('pub', async () => {
        // Loaded when used, so the other commands do not pay for the client at startup.
        const { runPub } = await import('../tools/pub.ts');
        const published = await runPub({
          topic,
          nsqdTcpAddresses,
          delimiter,
          rate,
          bodies: given.length > 0 ? given : undefined,
          input: process.stdin,
          security,
          onWarning: (message) => process.stderr.write(`nsqworker pub: ${message}\n`),
        });
        process.stderr.write(`published ${published} ${published === 1 ? 'message' : 'messages'} to ${topic}\n`);
      });
    });

  addSecurityFlags(cli
    .command('tail', 'Print the messages of a topic (like nsq_tail): each body and a newline on stdout')
    .option('--topic <topic>', 'NSQ topic, may be given more than once (required)')
    .option('--channel <channel>', 'NSQ channel (default: tail<6 random digits>#ephemeral)')
    .option('--nsqd-tcp-address <address>', `nsqd TCP address, may be given more than once (default: ${DEFAULT_NSQD_TCP} when no lookupd is given)`)
    .option('--lookupd-http-address <address>', 'nsqlookupd HTTP address, may be given more than once')
    .option('-n, --n <count>', 'total messages to show, then exit; 0 runs until SIGINT/SIGTERM (default: 0)')
    .option('--print-topic', 'print "<topic> | " before each message')
    .option('--max-in-flight <n>', 'messages to allow in flight (default: 200)'))
    .example('nsqworker tail --topic events -n 10')
    .action(async (flags: Flags) => {
      const topics = stringValues(argv(), flags, 'topic').map((topic) => checkTopicName(topic));
      if (topics.length === 0) throw new UsageError('--topic is required');
      const channel = checkChannelName(stringValue(argv(), flags, 'channel') ?? `tail${randomSixDigits()}#ephemeral`);
      const lookupdHttpAddresses = addresses(listValue(argv(), flags, 'lookupd-http-address'), [], checkHttpAddress, 'lookupd-http-address');
      const givenNsqd = listValue(argv(), flags, 'nsqd-tcp-address');
      if (givenNsqd.length > 0 && lookupdHttpAddresses.length > 0) {
        throw new UsageError('use --nsqd-tcp-address or --lookupd-http-address, not both');
      }
      const nsqdTcpAddresses = addresses(givenNsqd, lookupdHttpAddresses.length > 0 ? [] : [DEFAULT_NSQD_TCP], checkHostPort, 'nsqd-tcp-address');
      const totalMessages = intValue(flags, 'n', 0);
      const maxInFlight = intValue(flags, 'max-in-flight', 200, 1);
      const printTopic = flags.printTopic === true;
      const security = securityFromFlags(argv(), flags);
      await runTool('tail', async () => {
        const { startTail } = await import('../tools/tail.ts');
        // An HTTP port given for an nsqd's TCP one answers the same at every reconnect: said once, exit 1, as pub does.
        let wrongPort: Error | undefined;
        // Until every topic has subscribed on every nsqd given by address, one that cannot be reached
        // or refuses this client ends the tail, exit 1, as nsq_tail's go-nsq ConnectToNSQDs fails; after
        // that, a lost connection is said and retried. lookupd's nsqd come and go: retried.
        const subscriptions = new Set<string>();
        const allSubscribed = (): boolean => lookupdHttpAddresses.length > 0 || subscriptions.size === topics.length * nsqdTcpAddresses.length;
        let firstFailure: Error | undefined;
        const tail = startTail({
          topics,
          channel,
          nsqdTcpAddresses,
          lookupdHttpAddresses,
          totalMessages,
          printTopic,
          maxInFlight,
          output: process.stdout,
          onError: (error) => {
            if (isHttpResponseError(error)) {
              wrongPort ??= error;
              void tail.stop();
            } else if (!allSubscribed()) {
              firstFailure ??= error;
              void tail.stop();
            } else process.stderr.write(`nsqworker tail: ${error.message}${refusalHint(error, { tool: true })}\n`);
          },
          onConnected: (topic, address) => subscriptions.add(`${topic} ${address}`),
          onWarning: (message) => process.stderr.write(`nsqworker tail: ${message}\n`),
          security,
        });
        // A reader that went away (`| head`) ends the tail like a signal does.
        process.stdout.on('error', () => void tail.stop());
        onShutdownSignal(stderrLogger('tail'), () => tail.stop());
        await tail.done;
        if (wrongPort !== undefined) throw wrongPort;
        if (firstFailure !== undefined) throw new ToolError(ToolErrorCode.ConnectFailed, `${firstFailure.message}${refusalHint(firstFailure, { tool: true })}`, { cause: firstFailure });
      });
    });

  addSecurityFlags(cli
    .command('stats', "Poll a channel's numbers on every nsqd and print them as a table (like nsq_stat)")
    .option('--topic <topic>', 'NSQ topic (required)')
    .option('--channel <channel>', 'NSQ channel (required)')
    .option('--nsqd-http-address <address>', `nsqd HTTP address, may be given more than once (default: ${DEFAULT_NSQD_HTTP} when no lookupd is given)`)
    .option('--lookupd-http-address <address>', 'nsqlookupd HTTP address, may be given more than once: polls the nsqd it lists for the topic')
    .option('--interval <duration>', 'duration between polls, a Go duration (default: 2s)')
    .option('--count <n>', 'number of reports, then exit (default: until SIGINT/SIGTERM)')
    .option('--http-client-connect-timeout <duration>', 'timeout for the HTTP connect (default: 2s)')
    .option('--http-client-request-timeout <duration>', 'timeout of one HTTP request (default: 5s)'), { tlsOnly: true })
    .example('nsqworker stats --topic events --channel archive --interval 1s')
    .action(async (flags: Flags) => {
      const topic = checkTopicName(requiredString(argv(), flags, 'topic'));
      const channel = checkChannelName(requiredString(argv(), flags, 'channel'));
      const lookupdHttpAddresses = addresses(listValue(argv(), flags, 'lookupd-http-address'), [], checkHttpAddress, 'lookupd-http-address');
      const givenNsqd = listValue(argv(), flags, 'nsqd-http-address');
      if (givenNsqd.length > 0 && lookupdHttpAddresses.length > 0) {
        throw new UsageError('use --nsqd-http-address or --lookupd-http-address, not both');
      }
      const nsqdHttpAddresses = addresses(givenNsqd, [DEFAULT_NSQD_HTTP], checkHttpAddress, 'nsqd-http-address');
      const intervalMs = durationValue(argv(), flags, 'interval', 2000);
      const count = flags.count === undefined ? undefined : intValue(flags, 'count', 1, 1);
      const timeouts = {
        connectMs: durationValue(argv(), flags, 'http-client-connect-timeout', 2000),
        requestMs: durationValue(argv(), flags, 'http-client-request-timeout', 5000),
      };
      const { tls } = securityFromFlags(argv(), flags);
      await runTool('stats', async () => {
        const { runStats } = await import('../tools/stats.ts');
        const abort = new AbortController();
        const running = runStats({
          topic,
          channel,
          nsqdHttpAddresses,
          lookupdHttpAddresses,
          intervalMs,
          count,
          timeouts,
          output: process.stdout,
          signal: abort.signal,
          tls,
        });
        // A reader that went away (`| head`) stops the polling like a signal does.
        process.stdout.on('error', () => abort.abort());
        onShutdownSignal(stderrLogger('stats'), async () => {
          abort.abort();
          await running.catch(() => {});
        });
        await running;
      });
    });
}

function addresses(given: string[], fallback: string[], check: (address: string, flag: string) => string, flag: string): string[] {
  const list = given.length > 0 ? given : fallback;
  return list.map((address) => check(address, flag));
}

function delimiterByte(given: string | undefined): number {
  if (given === undefined) return 0x0a;
  const bytes = Buffer.from(unescapeDelimiter(given), 'utf8');
  if (bytes.length !== 1) throw new UsageError(`--delimiter must be one byte, got ${JSON.stringify(given)}`);
  return bytes[0]!;
}

function randomSixDigits(): string {
  return String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0');
}

/** Logs go to stderr: stdout carries the tool's data. */
function stderrLogger(tool: string): pino.Logger {
  return pino({ name: `nsqworker ${tool}`, level: 'warn' }, pino.destination(2));
}

/**
 * Runs a tool; a failure prints one line on stderr and exits with status 1 (usage errors go up to
 * the CLI, which exits with 2). The exit is left to the event loop emptying, so pending output is
 * written; an unref'd timer makes sure a stray handle cannot keep the process alive.
 */
async function runTool(tool: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
    exitSoon(0);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    process.stderr.write(`nsqworker ${tool}: ${thrownText(error)}\n`);
    exitSoon(1);
  }
}

function exitSoon(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1000).unref();
}

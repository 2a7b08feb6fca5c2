/**
 * A bundled broker in its own process, for tests that kill it: `node --import tsx child-broker-main.ts
 * '<options json>'`. It prints one JSON line on stdout: `{ tcp, http, pid }` once listening, or
 * `{ error, ownerPid }` (exit 3) when it cannot start. Its log goes to stderr as JSON lines. SIGTERM
 * and SIGINT close it cleanly (exit 0).
 */
import pino from 'pino';
import { startBroker } from '../../broker/nsqd/server.ts';
import type { BrokerOptionsInput } from '../../broker/nsqd/options.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as BrokerOptionsInput;
const logger = pino({ level: 'info' }, pino.destination(2));
try {
  const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', broadcastAddress: '127.0.0.1', ...options, logger });
  process.stdout.write(`${JSON.stringify({ tcp: broker.tcpAddress, http: broker.httpAddress, pid: process.pid })}\n`);
  const stop = (): void => {
    void broker.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  const { code, ownerPid } = error as { code?: string; ownerPid?: number };
  process.stdout.write(`${JSON.stringify({ error: code ?? String(error), message: (error as Error).message, ownerPid })}\n`);
  process.exit(3);
}

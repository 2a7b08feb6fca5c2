/**
 * The latency probe's floor: a TCP server that writes back whatever it reads, on 127.0.0.1 and a
 * free port, which it prints as one line. With `--client echo`, lib/latency-client.ts sends its
 * 200-byte bodies here instead of through a broker, batched per tick as our Producer's writes are,
 * so the difference between that row and ours is what NSQ's work costs on this machine: the same
 * two processes, the same rate and ticks, one TCP round trip, no protocol.
 *
 * Run (spawned by bench/latency.ts): tsx bench/lib/echo-server.ts
 */
import { createServer } from 'node:net';

const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});

/**
 * `npm run bench heartbeats`: the broker's own CPU per heartbeat, in-process, with no kernel under it.
 * BENCH_HEARTBEAT_CONNS (10,000) connections on fake sockets IDENTIFY with a 1 s heartbeat and answer
 * each `_heartbeat_` with a NOP at once, for BENCH_HEARTBEAT_S (10) seconds: what is measured is the
 * heartbeat timers, writing the frame, and reading and carrying out the NOP. The scale bench's
 * heartbeat row adds the kernel's share (a loopback write costs far more than all of this) and a
 * separate client process, so on a busy machine it moves with everything else; process CPU time of
 * this one process is steadier.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import pino from 'pino';
import { ClientConnection } from '../broker/nsqd/client-connection.ts';
import { HeartbeatWheel } from '../broker/nsqd/heartbeats.ts';
import { Nsqd } from '../broker/nsqd/nsqd.ts';
import { BrokerOptionsSchema } from '../broker/nsqd/options.ts';
import { PROTOCOL_V2 } from '../broker/nsqd/protocol-v2.ts';
import { NOP, encodeIdentify } from '../protocol/commands.ts';
import type { Row } from './broker.ts';

const CONNS = Number(process.env.BENCH_HEARTBEAT_CONNS ?? 10_000);
const SECONDS = Number(process.env.BENCH_HEARTBEAT_S ?? 10);
const HEARTBEAT = Buffer.from('_heartbeat_');

/** A socket that answers every heartbeat with a NOP, on the next turn of the loop, as a client would. */
class AnsweringSocket extends EventEmitter {
  static answered = 0;
  private static waiting: AnsweringSocket[] = [];
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  readonly writableLength = 0;
  destroyed = false;

  static answerAll(): void {
    for (const socket of AnsweringSocket.waiting.splice(0)) socket.emit('data', NOP);
  }

  write(chunk: Buffer): boolean {
    if (chunk.includes(HEARTBEAT)) {
      AnsweringSocket.answered++;
      if (AnsweringSocket.waiting.push(this) === 1) setImmediate(AnsweringSocket.answerAll);
    }
    return true;
  }

  setNoDelay(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  end(): this {
    return this;
  }
  destroySoon(): void {}
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function heartbeatBenchmarks(): Promise<Row[]> {
  const dataPath = mkdtempSync(join(tmpdir(), 'bench-heartbeats-'));
  const nsqd = new Nsqd(BrokerOptionsSchema.parse({ dataPath }), pino({ level: 'silent' }));
  const wheel = new HeartbeatWheel();
  const identify = encodeIdentify({ heartbeat_interval: 1000 });
  const clients: ClientConnection[] = [];
  for (let i = 0; i < CONNS; i++) {
    const socket = new AnsweringSocket();
    clients.push(new ClientConnection(socket as unknown as Socket, nsqd, PROTOCOL_V2, () => {}, wheel));
    socket.emit('data', identify);
    // Connections arrive over a second, so their heartbeats are spread as a real broker's are.
    if (i % Math.ceil(CONNS / 50) === 0) await sleep(20);
  }
  await sleep(2000);
  const cpu0 = process.cpuUsage();
  const beats0 = AnsweringSocket.answered;
  const started = performance.now();
  await sleep(SECONDS * 1000);
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - started) / 1000;
  const beats = AnsweringSocket.answered - beats0;
  for (const client of clients) client.close();
  nsqd.persistAndClose();
  rmSync(dataPath, { recursive: true, force: true });
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return [
    { metric: `heartbeats sent per second (${CONNS} connections, 1 s interval)`, unit: 'messages', higherIsBetter: true, values: { nsqworker: beats / seconds } },
    // process.cpuUsage() covers the fake clients answering too: an upper bound on the broker's share.
    { metric: 'CPU for them, broker and in-process fake clients, kernel excluded', unit: 'ms', higherIsBetter: false, values: { nsqworker: cpuMs / seconds } },
    { metric: 'CPU per heartbeat and its NOP, broker and fake client, kernel excluded', unit: 'us', higherIsBetter: false, values: { nsqworker: (cpuMs * 1000) / beats } },
  ];
}

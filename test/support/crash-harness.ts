/**
 * The crash harness: a child broker under a mixed load — PUB, MPUB, DPUB, FIN, REQ with and without
 * a delay, TOUCH, messages left to time out, a consumer that disconnects with messages in flight —
 * stopped at a random (seeded) moment every round, with SIGKILL in sync mode or a clean signal,
 * and restarted on the same data path. A ledger records every acknowledged publish and every FIN;
 * after the last round everything left is drained, and every acknowledged message must have been
 * finished at least once. Duplicates are allowed (at least once); a loss is the defect.
 *
 * "Finished" counts a FIN the broker confirmed (a later answer on the same connection came back
 * without an E_FIN_FAILED for it) or one still unconfirmed when the broker was stopped.
 */
import { connect, type Socket } from 'node:net';
import { encodeDpub, encodeFin, encodeMpub, encodePub, encodeReq, encodeRdy, encodeSub, encodeTouch, MAGIC_V2 } from '../../protocol/commands.ts';
import { FrameDecoder, FrameType } from '../../protocol/frames.ts';
import { decodeMessagePayload } from '../../protocol/message.ts';
import { startChildBroker, type ChildBroker, type ChildBrokerOptions } from './child-broker.ts';
import { seededRandom } from './prng.ts';

export interface CrashHarnessOptions {
  rounds: number;
  seed: number;
  dataPath: string;
  /** `kill`: SIGKILL in sync mode (--mem-queue-size 0 --sync-every 1); `clean`: SIGTERM/SIGINT, default flags. */
  stop: 'kill' | 'clean';
  /** Load time before each stop, ms, uniform in [min, max]. Default [80, 300]. */
  loadMs?: [number, number];
  /** Deadline for the final drain, ms. Default 30,000 + 100 per round. */
  drainTimeoutMs?: number;
}

export interface CrashReport {
  rounds: number;
  acknowledged: number;
  finished: number;
  /** Acknowledged messages delivered again after they were finished. */
  duplicated: number;
  lost: number;
  /** Bodies delivered that were never published: corruption. */
  unexpected: number;
  lostBodies: string[];
}

const TOPIC = 'crash';
const CHANNEL = 'c';
const BARRIER_ID = '0000000000000000';
/**
 * Bodies published per round at most: sync mode's fsyncs keep its rounds small; clean stops get
 * enough for the backlog to pass --mem-queue-size's 10,000 within a few rounds and spill to disk.
 */
const PUBLISH_BUDGET = { kill: 150, clean: 2500 };

class Ledger {
  readonly sent = new Set<string>();
  readonly acked = new Set<string>();
  readonly finished = new Map<string, number>();
  unexpected = 0;
  finish(body: string): void {
    this.finished.set(body, (this.finished.get(body) ?? 0) + 1);
  }
}

/** A protocol V2 connection that hands frames to a callback and resolves `closed` when it ends. */
class Peer {
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  constructor(address: string, onFrame: (type: number, data: Buffer) => void) {
    const colon = address.lastIndexOf(':');
    this.socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), noDelay: true });
    this.socket.on('error', () => {});
    const decoder = new FrameDecoder(onFrame);
    this.socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.write(MAGIC_V2);
  }
  send(bytes: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }
  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Publishes with up to 16 commands outstanding until the connection ends or `budget` bodies were
 * sent (so the backlog left for the final drain grows with the rounds, not with the machine's speed);
 * OKs go to the ledger.
 */
function publisher(broker: ChildBroker, ledger: Ledger, random: () => number, nextBody: () => string, budget: number): Peer {
  const outstanding: string[][] = [];
  let sent = 0;
  const fill = (): void => {
    while (outstanding.length < 16 && sent < budget) {
      const pick = random();
      const bodies = pick < 0.5 ? [nextBody()] : pick < 0.75 ? Array.from({ length: 2 + Math.floor(random() * 7) }, nextBody) : [nextBody()];
      for (const body of bodies) ledger.sent.add(body);
      sent += bodies.length;
      outstanding.push(bodies);
      if (pick < 0.5) peer.send(encodePub(TOPIC, Buffer.from(bodies[0]!)));
      else if (pick < 0.75) peer.send(encodeMpub(TOPIC, bodies.map((b) => Buffer.from(b))));
      else peer.send(encodeDpub(TOPIC, 50 + Math.floor(random() * 1150), Buffer.from(bodies[0]!)));
    }
  };
  const peer = new Peer(broker.tcp, (type, data) => {
    if (type === FrameType.Response && data.toString() === '_heartbeat_') return peer.send('NOP\n');
    const bodies = outstanding.shift();
    if (type === FrameType.Response && bodies !== undefined) for (const body of bodies) ledger.acked.add(body);
    fill();
  });
  fill();
  return peer;
}

/**
 * A consumer that FINs, REQs (now or later), TOUCHes or ignores each message at random, with a
 * barrier (a TOUCH of an unknown id, answered E_TOUCH_FAILED) after each batch of FINs, so each FIN
 * is confirmed or refused. `disconnectAfter` > 0 makes it drop the connection after that many.
 */
function consumer(broker: ChildBroker, ledger: Ledger, random: () => number, rdy: number, disconnectAfter = 0, finishAll = false): Peer {
  const unconfirmed: Array<Map<string, string>> = [];
  let batch = new Map<string, string>();
  let received = 0;
  const peer = new Peer(broker.tcp, (type, data) => {
    if (type === FrameType.Response) {
      if (data.toString() === '_heartbeat_') peer.send('NOP\n');
      return;
    }
    if (type === FrameType.Error) {
      const text = data.toString();
      const id = /^E_\w+ \w+ (\w{16}) /.exec(text)?.[1];
      if (text.startsWith('E_TOUCH_FAILED') && id === BARRIER_ID) {
        for (const body of unconfirmed.shift()?.values() ?? []) ledger.finish(body);
      } else if (text.startsWith('E_FIN_FAILED') && id !== undefined) {
        for (const group of unconfirmed) group.delete(id);
      }
      return;
    }
    const message = decodeMessagePayload(data);
    const body = message.body.toString();
    if (!ledger.sent.has(body)) ledger.unexpected++;
    received++;
    if (disconnectAfter > 0) {
      if (received >= disconnectAfter) peer.destroy();
      return;
    }
    const pick = finishAll ? 0 : random();
    if (pick < 0.55) {
      peer.send(encodeFin(message.id));
      batch.set(message.id, body);
    } else if (pick < 0.65) {
      peer.send(encodeReq(message.id, 0));
    } else if (pick < 0.75) {
      peer.send(encodeReq(message.id, 50 + Math.floor(random() * 550)));
    } else if (pick < 0.85) {
      peer.send(Buffer.concat([encodeTouch(message.id), encodeFin(message.id)]));
      batch.set(message.id, body);
    }
    // Otherwise ignored: it times out and is delivered again.
    if (batch.size > 0) {
      unconfirmed.push(batch);
      batch = new Map();
      peer.send(encodeTouch(BARRIER_ID));
    }
  });
  peer.send(encodeSub(TOPIC, CHANNEL));
  peer.send(encodeRdy(rdy));
  // At the stop, FINs not yet confirmed may have been carried out: they count as finished.
  void peer.closed.then(() => {
    for (const group of unconfirmed.splice(0)) for (const body of group.values()) ledger.finish(body);
  });
  return peer;
}

async function channelCounts(http: string): Promise<{ topicDepth: number; depth: number; inFlight: number; deferred: number }> {
  const response = await fetch(`http://${http}/stats?format=json&topic=${TOPIC}`);
  const stats = (await response.json()) as { topics: Array<{ depth: number; channels: Array<{ channel_name: string; depth: number; in_flight_count: number; deferred_count: number }> }> };
  const topic = stats.topics[0];
  const channel = topic?.channels.find((c) => c.channel_name === CHANNEL);
  return { topicDepth: topic?.depth ?? 0, depth: channel?.depth ?? 0, inFlight: channel?.in_flight_count ?? 0, deferred: channel?.deferred_count ?? 0 };
}

/** Runs the rounds, drains, and compares the ledger. */
export async function runCrashHarness(options: CrashHarnessOptions): Promise<CrashReport> {
  const random = seededRandom(options.seed);
  const [minMs, maxMs] = options.loadMs ?? [80, 300];
  const brokerOptions: ChildBrokerOptions = {
    dataPath: options.dataPath,
    msgTimeoutMs: 700,
    maxBytesPerFile: 64 * 1024,
    ...(options.stop === 'kill' ? { memQueueSize: 0, syncEvery: 1 } : {}),
  };
  const ledger = new Ledger();
  let counter = 0;
  const nextBody = (): string => `m${options.seed}-${counter++}`;
  let broker = await startChildBroker(brokerOptions);
  await fetch(`http://${broker.http}/topic/create?topic=${TOPIC}`, { method: 'POST' });
  await fetch(`http://${broker.http}/channel/create?topic=${TOPIC}&channel=${CHANNEL}`, { method: 'POST' });
  for (let round = 0; round < options.rounds; round++) {
    const peers = [
      publisher(broker, ledger, random, nextBody, PUBLISH_BUDGET[options.stop]),
      consumer(broker, ledger, random, 1 + Math.floor(random() * 50)),
      consumer(broker, ledger, random, 3, 1 + Math.floor(random() * 3)),
    ];
    await new Promise((resolve) => setTimeout(resolve, minMs + random() * (maxMs - minMs)));
    if (options.stop === 'kill') await broker.kill();
    else await broker.stop(round % 2 === 0 ? 'SIGTERM' : 'SIGINT');
    await Promise.all(peers.map((peer) => peer.closed));
    broker = await startChildBroker(brokerOptions);
  }
  // Drain: one consumer finishes everything, deferred and timed-out messages included.
  const drainer = consumer(broker, ledger, random, 1000, 0, true);
  const deadline = Date.now() + (options.drainTimeoutMs ?? 30_000 + 100 * options.rounds);
  for (;;) {
    const counts = await channelCounts(broker.http);
    if (counts.topicDepth + counts.depth + counts.inFlight + counts.deferred === 0) break;
    if (Date.now() > deadline) throw new Error(`drain did not finish: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  drainer.destroy();
  await drainer.closed;
  await broker.stop();
  const lostBodies = [...ledger.acked].filter((body) => !ledger.finished.has(body));
  let duplicated = 0;
  for (const [body, count] of ledger.finished) if (count > 1 && ledger.acked.has(body)) duplicated++;
  return {
    rounds: options.rounds,
    acknowledged: ledger.acked.size,
    finished: ledger.acked.size - lostBodies.length,
    duplicated,
    lost: lostBodies.length,
    unexpected: ledger.unexpected,
    lostBodies: lostBodies.slice(0, 20),
  };
}

/**
 * The hot-reload probe of the performance issue, black-box: while a steady stream of messages is
 * published over HTTP, the worker file is rewritten `saves` times, each time `spacingMs` after the
 * previous rewrite took effect. A rewrite took effect when the first output of its code appears
 * (a record of the new version in handled.jsonl); its latency is that record's time minus the time
 * of the write. Nothing waits for the runner's log lines or for a warm standby: this is what a
 * developer who saves every few hundred milliseconds sees.
 *
 * The probe shares the machine's two cores with what it measures, so it is made to cost little: the
 * stream goes through one keep-alive `node:http` agent (fetch cost about 1.7 ms of CPU a request
 * here, a third of a core at this rate, against 0.6 ms), and the output is read every 10 ms. The
 * next save is timed from the record's own time, not from when the probe read it, so how often it
 * reads changes no figure and no spacing.
 */
import { Agent, request } from 'node:http';
import { open } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { CliProjects } from '../test/integration/helpers/cli-project.ts';
import { CHANNEL, TOPIC, WATCH_ARGS, WORKER_FILE, workerSource, writeReloadProject, type Handled } from '../test/integration/helpers/reload-fixture.ts';

/** One HTTP publish every this many ms: the first message of the new code waits at most this long for a message. */
const STREAM_GAP_MS = 5;
/** How often the probe reads new output; neither the figures nor the spacing depend on it. */
const OUTPUT_POLL_MS = 10;
/** Requests of the stream in flight at most (each on a socket of its own, kept alive). */
const STREAM_SOCKETS = 4;

/** Reads handled.jsonl as it grows, from where the last read stopped. */
class OutputTail {
  private offset = 0;
  private partial = '';

  constructor(private readonly file: string) {}

  async next(): Promise<Handled[]> {
    const handle = await open(this.file, 'r').catch(() => undefined);
    if (handle === undefined) return [];
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return [];
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset += bytesRead;
      const lines = (this.partial + buffer.toString('utf8', 0, bytesRead)).split('\n');
      this.partial = lines.pop()!;
      return lines.map((line) => JSON.parse(line) as Handled);
    } finally {
      await handle.close();
    }
  }
}

/** POSTs `body` to `url` through `agent`; resolves once the whole answer has come. */
function post(url: string, body: string, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: 'POST', agent, headers: { 'content-length': Buffer.byteLength(body) } }, (response) => {
      if (response.statusCode !== 200) reject(new Error(`/pub answered ${response.statusCode}`));
      response.resume();
      response.on('end', resolve);
      response.on('error', reject);
    });
    sent.on('error', reject);
    sent.end(body);
  });
}

/** Publishes one message every {@link STREAM_GAP_MS} over HTTP until stopped; at most {@link STREAM_SOCKETS} requests in flight. */
function httpStream(httpAddress: string): { stop(): Promise<void>; published(): number } {
  const url = `http://${httpAddress}/pub?topic=${encodeURIComponent(TOPIC)}`;
  const agent = new Agent({ keepAlive: true, maxSockets: STREAM_SOCKETS });
  let sequence = 0;
  const pending = new Set<Promise<void>>();
  const pacer = setInterval(() => {
    if (pending.size >= STREAM_SOCKETS) return;
    const sent = post(url, `stream-${sequence++}`, agent).finally(() => pending.delete(sent));
    pending.add(sent);
  }, STREAM_GAP_MS);
  return {
    async stop() {
      clearInterval(pacer);
      await Promise.all(pending);
      agent.destroy();
    },
    published: () => sequence,
  };
}

export interface ProbeResult {
  /** Write → first record of the new code, per save, in ms. */
  latencies: number[];
  /** Records of an older version after the new one's first: would mean two codes ran at once. */
  outOfOrder: number;
  published: number;
}

/**
 * Runs the probe on a fresh watched run of the reload fixture: the stream starts, and once version 1
 * has handled a message, each save comes `spacingMs` after the last one's code handled its first.
 */
export async function probeSaves(projects: CliProjects, saves: number, spacingMs: number): Promise<ProbeResult> {
  const project = await projects.create();
  await writeReloadProject(project);
  const run = project.startWorker(TOPIC, CHANNEL, WATCH_ARGS);
  const { httpAddress } = await run.brokerAddresses();
  await run.subscribed(['apply']);
  const tail = new OutputTail(project.path('handled.jsonl'));
  const stream = httpStream(httpAddress);
  const latencies: number[] = [];
  let outOfOrder = 0;
  let version = 1;
  /** The newest version that has handled a message: any record of an older one after it is out of order. */
  let newest = 0;
  const check = (record: Handled): void => {
    if (record.version < newest) outOfOrder++;
    else newest = record.version;
  };
  /** The first record of `version`, every record read on the way checked. */
  const firstOf = async (since: number): Promise<Handled> => {
    let first: Handled | undefined;
    for (;;) {
      for (const record of await tail.next()) {
        check(record);
        if (first === undefined && record.version === version) first = record;
      }
      if (first !== undefined) return first;
      if (Date.now() > since + 60_000) throw new Error(`version ${version} never handled a message\n${run.describe()}`);
      await delay(OUTPUT_POLL_MS);
    }
  };
  try {
    let tookEffect = (await firstOf(Date.now())).at;
    for (let i = 0; i < saves; i++) {
      await delay(Math.max(0, tookEffect + spacingMs - Date.now()));
      version++;
      const savedAt = Date.now();
      await project.write(WORKER_FILE, workerSource({ version }));
      tookEffect = (await firstOf(savedAt)).at;
      latencies.push(tookEffect - savedAt);
    }
  } finally {
    await stream.stop();
  }
  // Late records of an older version would show up after the last save too.
  await delay(spacingMs);
  for (const record of await tail.next()) check(record);
  return { latencies, outOfOrder, published: stream.published() };
}

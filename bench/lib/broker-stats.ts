/**
 * A broker's view of one topic and channel, from its HTTP API (ours and nsqd's answer alike), and
 * the drain timer built on it: the one outside measure the worker, nsqjs and bench_reader are all
 * timed by, so none is timed by its own clock or its own idea of when it started.
 */

interface StatsChannel {
  channel_name: string;
  depth: number;
  in_flight_count: number;
  deferred_count: number;
}

interface StatsTopic {
  topic_name: string;
  depth: number;
  channels: StatsChannel[];
}

/** What is left of a topic and one of its channels. */
export interface ChannelCounts {
  /** Messages still at the topic, not yet handed to its channels (nsqd hands them over in its own goroutine). */
  topicDepth: number;
  /** Messages waiting in the channel (memory and disk). */
  depth: number;
  inFlight: number;
  deferred: number;
}

async function post(httpPort: number, path: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, { method: 'POST' });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}

/** Creates the topic, then the channel, so every message published later reaches the channel. */
export async function createChannel(httpPort: number, topic: string, channel: string): Promise<void> {
  await post(httpPort, `/topic/create?topic=${topic}`);
  await post(httpPort, `/channel/create?topic=${topic}&channel=${channel}`);
}

export async function channelCounts(httpPort: number, topic: string, channel: string): Promise<ChannelCounts> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/stats?format=json&topic=${topic}&channel=${channel}`);
  if (!response.ok) throw new Error(`/stats: ${response.status}`);
  const json = (await response.json()) as { topics?: StatsTopic[]; data?: { topics: StatsTopic[] } };
  // nsqd before 1.0 wrapped every answer in { status_code, data }.
  const topics = json.topics ?? json.data?.topics ?? [];
  const found = topics.find((each) => each.topic_name === topic);
  const counts = found?.channels.find((each) => each.channel_name === channel);
  return { topicDepth: found?.depth ?? 0, depth: counts?.depth ?? 0, inFlight: counts?.in_flight_count ?? 0, deferred: counts?.deferred_count ?? 0 };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the topic has handed every message to its channels; resolves with the channel's counts. */
export async function settled(httpPort: number, topic: string, channel: string, timeoutMs = 120_000): Promise<ChannelCounts> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await channelCounts(httpPort, topic, channel);
    if (counts.topicDepth === 0) return counts;
    if (Date.now() > deadline) throw new Error(`topic ${topic} still holds ${counts.topicDepth} messages after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * Empties the channel of whatever a killed consumer left in flight (the broker requeues it when the
 * connection goes, which may come after a first empty), so the next fill starts from nothing.
 */
export async function emptyChannel(httpPort: number, topic: string, channel: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await post(httpPort, `/channel/empty?topic=${topic}&channel=${channel}`);
    const counts = await channelCounts(httpPort, topic, channel);
    if (counts.topicDepth + counts.depth + counts.inFlight + counts.deferred === 0) return;
    if (Date.now() > deadline) throw new Error(`${topic}/${channel} would not empty: ${JSON.stringify(counts)}`);
    await sleep(50);
  }
}

/**
 * Gaps between two polls of /stats while timing a drain: short at both ends, where they set the
 * figure's precision, long in between. Each answer costs the bundled broker about 0.35 ms of its
 * one thread, and the request a few more of the bench's: polled every few ms all along, the two
 * took enough of the machine's two cores to halve a worker's rate.
 */
const POLL_GAP_MS = 2;
const LONG_POLL_GAP_MS = 50;

export interface Drain {
  /** From the first message out of the channel to the last, in ms. */
  elapsedMs: number;
  /** Messages finished by the time the last one went out: the work done in elapsedMs. */
  finished: number;
  /** Polls of /stats during the drain: the resolution is elapsedMs / polls. */
  polls: number;
}

/**
 * Times a consumer draining `total` messages from `topic`/`channel`, from the outside: /stats is
 * polled from before `startConsumer` runs until the channel's depth is 0 (every couple of ms near
 * both ends, less often in between). The
 * first message went out between the last poll that saw all `total` waiting and the first that saw
 * fewer (the midpoint counts; a poll's moment is the midpoint of its request and answer). The end
 * is the poll that sees the depth at 0, and the work done by then is `total` less what is still in
 * flight: so the rate is finished / elapsed.
 *
 * Not "until the last FIN", because bench_reader never gets there: it flushes its FINs by count,
 * not when idle, so its last few hundred sit in its write buffer until the broker times them out.
 * The consumer's start-up (a process starting, connecting, subscribing) is not part of the figure.
 */
export async function timeDrain(httpPort: number, topic: string, channel: string, total: number, startConsumer: () => void, timeoutMs = 120_000): Promise<Drain> {
  const poll = async (): Promise<{ at: number; counts: ChannelCounts }> => {
    const sent = performance.now();
    const counts = await channelCounts(httpPort, topic, channel);
    return { at: (sent + performance.now()) / 2, counts };
  };
  let last = await poll();
  const waiting = last.counts.depth + last.counts.inFlight + last.counts.deferred;
  if (waiting !== total) throw new Error(`${topic}/${channel} holds ${waiting} messages, not ${total}`);
  startConsumer();
  const deadline = performance.now() + timeoutMs;
  let firstAt: number | undefined;
  let polls = 0;
  let gapMs = POLL_GAP_MS;
  for (;;) {
    await sleep(gapMs);
    const now = await poll();
    polls++;
    if (firstAt === undefined && now.counts.depth < total) firstAt = (last.at + now.at) / 2;
    // Once it drains, wait about a third of what the last gap's pace says is left, then short again.
    const perMs = (last.counts.depth - now.counts.depth) / (now.at - last.at);
    gapMs = firstAt === undefined || perMs <= 0 ? POLL_GAP_MS : Math.max(POLL_GAP_MS, Math.min(LONG_POLL_GAP_MS, now.counts.depth / perMs / 3));
    if (now.counts.depth === 0) {
      const finished = total - now.counts.inFlight - now.counts.deferred;
      return { elapsedMs: now.at - (firstAt ?? last.at), finished, polls };
    }
    if (now.at > deadline) throw new Error(`${topic}/${channel}: ${now.counts.depth} of ${total} messages still waiting after ${timeoutMs} ms`);
    last = now;
  }
}

/**
 * The console opening on a large cluster: 1,000 topics with two channels each on the bundled broker,
 * the console polling it, and headless Chromium opening the topics page. Measured from navigation
 * to the table's last row in the page, and the size of what each open page fetches per poll.
 * Needs Debian's chromium (see README, Development).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../broker/nsqd/server.ts';
import { startConsole } from '../console/server/server.ts';
import { launchBrowser } from '../test/support/browser.ts';
import type { Row } from './broker.ts';

const TOPICS = 1000;
const topicName = (i: number) => `topic-${String(i).padStart(4, '0')}`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function consoleBenchmarks(): Promise<Row[]> {
  const dataPath = await mkdtemp(join(tmpdir(), 'nsqworker-bench-console-'));
  const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath, broadcastAddress: '127.0.0.1' });
  const web = await startConsole({ httpAddress: '127.0.0.1:0', nsqdHttpAddresses: [broker.httpAddress], pollIntervalMs: 1000 });
  const browser = await launchBrowser();
  try {
    for (let i = 0; i < TOPICS; i += 1) {
      const topic = topicName(i);
      const post = (path: string) => fetch(`http://${broker.httpAddress}${path}`, { method: 'POST' });
      await post(`/topic/create?topic=${topic}`);
      await post(`/channel/create?topic=${topic}&channel=a`);
      await post(`/channel/create?topic=${topic}&channel=b`);
    }
    await web.nextRound();
    await web.nextRound();
    const page = await browser.context.newPage();
    // The bundle is built or read once per process; a first load outside the measure keeps that out.
    await page.goto(web.url);
    await page.locator(`#topics tr[data-topic="${topicName(TOPICS - 1)}"]`).waitFor();
    const opens: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      const started = performance.now();
      await page.reload();
      await page.locator(`#topics tr[data-topic="${topicName(TOPICS - 1)}"]`).waitFor();
      opens.push(performance.now() - started);
    }
    // What each open page fetches once per poll.
    const overview = await (await fetch(`${web.url}api/overview`)).arrayBuffer();
    return [
      { metric: `open the topics page, ${TOPICS} topics × 2 channels (median of 5)`, values: { console: median(opens) }, unit: 'ms', higherIsBetter: false },
      { metric: 'overview JSON a page fetches per poll', values: { console: overview.byteLength / 1024 }, unit: 'KiB', higherIsBetter: false },
    ];
  } finally {
    await browser.close();
    await web.close();
    await broker.close();
    await rm(dataPath, { recursive: true, force: true });
  }
}

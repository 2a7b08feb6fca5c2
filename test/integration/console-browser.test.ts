/**
 * The console in headless Chromium against a real broker: what a person sees and does. Needs
 * Debian's chromium (`.ci/run` installs it); without it these tests skip, except under CI=true,
 * where they fail so a missing browser cannot pass unnoticed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/nsqd/server.ts';
import type { ConsoleOptionsInput } from '../../console/server/options.ts';
import { startConsole, type ConsoleHandle } from '../../console/server/server.ts';
import { hasChromium, launchBrowser, waitForTick, type TestBrowser } from '../support/browser.ts';
import { waitFor } from '../support/brokers.ts';

const runBrowserTests = hasChromium || process.env.CI === 'true';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function brokerWithTopic(topic: string, channel: string, messages: number): Promise<BrokerHandle> {
  const dataPath = await mkdtemp(join(tmpdir(), 'nsqworker-console-'));
  const broker = await startBroker({ tcpAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', dataPath, broadcastAddress: '127.0.0.1' });
  cleanups.push(async () => {
    await broker.close();
    await rm(dataPath, { recursive: true, force: true });
  });
  await post(broker, `/topic/create?topic=${topic}`);
  await post(broker, `/channel/create?topic=${topic}&channel=${channel}`);
  if (messages > 0) await post(broker, `/mpub?topic=${topic}`, Array.from({ length: messages }, (_, i) => `m${i}`).join('\n'));
  return broker;
}

async function post(broker: BrokerHandle, path: string, body?: string): Promise<void> {
  const response = await fetch(`http://${broker.httpAddress}${path}`, { method: 'POST', ...(body === undefined ? {} : { body }) });
  expect(response.status).toBe(200);
}

async function consoleOn(broker: BrokerHandle, options: ConsoleOptionsInput = {}): Promise<ConsoleHandle> {
  const web = await startConsole({ httpAddress: '127.0.0.1:0', nsqdHttpAddresses: [broker.httpAddress], pollIntervalMs: 150, ...options });
  cleanups.push(() => web.close());
  await web.nextRound();
  return web;
}

async function channelPaused(broker: BrokerHandle, topic: string, channel: string): Promise<boolean> {
  const stats = (await (await fetch(`http://${broker.httpAddress}/stats?format=json&topic=${topic}`)).json()) as {
    topics: Array<{ channels: Array<{ channel_name: string; paused: boolean }> }>;
  };
  return stats.topics[0]?.channels.find((c) => c.channel_name === channel)?.paused ?? false;
}

/** A canvas as the page sees it (this project has no DOM types). */
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

/** Pixels of a chart's canvas drawn in the given colour: proof the line is on screen, not just in data. */
async function pixelsOfColour(page: Page, chartIndex: number, rgb: [number, number, number]): Promise<number> {
  return page.locator('.chart canvas').nth(chartIndex).evaluate((node, [r, g, b]) => {
    const canvas = node as unknown as PageCanvas;
    const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
    let found = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i]! - r) < 30 && Math.abs(data[i + 1]! - g) < 30 && Math.abs(data[i + 2]! - b) < 30 && data[i + 3]! > 200) found += 1;
    }
    return found;
  }, rgb);
}

describe.skipIf(!runBrowserTests)('console in a browser', () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows the topic and channel with the right depth, and charts real points', async () => {
    const broker = await brokerWithTopic('orders', 'billing', 7);
    const web = await consoleOn(broker);
    const page = await browser.context.newPage();
    cleanups.push(() => page.close());
    await page.goto(web.url);
    const row = page.locator('#topics tr[data-topic="orders"]');
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('1');

    await page.click('#topics a:text-is("orders")');
    await page.locator('#channels tr[data-channel="billing"] [data-col="depth"]').filter({ hasText: '7' }).waitFor();

    await page.click('#channels a:text-is("billing")');
    await expect.poll(() => page.locator('.card:has(.card-label:text-is("Depth")) .card-value').textContent()).toBe('7');
    // More traffic across polls gives the depth chart a line of several points.
    for (let i = 0; i < 3; i += 1) {
      await post(broker, '/pub?topic=orders', `late ${i}`);
      await web.nextRound();
    }
    await waitForTick(page, web.model.tick);
    const depthChart = page.locator('.chart').nth(1);
    await expect.poll(async () => Number(await depthChart.getAttribute('data-points'))).toBeGreaterThanOrEqual(6);
    // The depth line's teal (#0d9488) is drawn on the canvas.
    expect(await pixelsOfColour(page, 1, [13, 148, 136])).toBeGreaterThan(50);
  });

  it('pauses a channel from the page after a confirm step, and nsqd reports it paused', async () => {
    const broker = await brokerWithTopic('orders', 'billing', 1);
    const web = await consoleOn(broker);
    const page = await browser.context.newPage();
    cleanups.push(() => page.close());
    await page.goto(`${web.url}#/topic/orders/billing`);
    await page.click('button[data-action="pause"]');
    await page.locator('dialog.confirm[open]').waitFor();
    expect(await channelPaused(broker, 'orders', 'billing')).toBe(false);
    await page.click('dialog.confirm [data-confirm]');
    await waitFor(() => channelPaused(broker, 'orders', 'billing'), 'the channel to be paused');
    await page.locator('.title-row .badge-paused').waitFor();
    await page.locator('button[data-action="unpause"]').waitFor();
  });

  it('under --read-only shows no action and the server refuses one sent from the page', async () => {
    const broker = await brokerWithTopic('orders', 'billing', 1);
    const web = await consoleOn(broker, { readOnly: true });
    const page = await browser.context.newPage();
    cleanups.push(() => page.close());
    await page.goto(`${web.url}#/topic/orders/billing`);
    await page.locator('.title-row h1:text-is("billing")').waitFor();
    await page.locator('.status .badge:text-is("read-only")').waitFor();
    expect(await page.locator('[data-action]').count()).toBe(0);
    await page.goto(`${web.url}#/`);
    await page.locator('#topics tr[data-topic="orders"]').waitFor();
    expect(await page.locator('form[data-create]').count()).toBe(0);
    const status = await page.evaluate(async () => {
      const response = await fetch('api/action', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ action: 'pause', topic: 'orders', channel: 'billing' }) });
      return response.status;
    });
    expect(status).toBe(403);
    expect(await channelPaused(broker, 'orders', 'billing')).toBe(false);
  });

  it('shows a broker that stops answering as down, with its last good figures', async () => {
    const broker = await brokerWithTopic('orders', 'billing', 4);
    const web = await consoleOn(broker);
    const page = await browser.context.newPage();
    cleanups.push(() => page.close());
    await page.goto(web.url);
    await page.locator('#topics tr[data-topic="orders"]').waitFor();
    await broker.close();
    await web.nextRound();
    await page.locator('.banner:has-text("not answering")').waitFor();
    await page.locator('#topics tr[data-topic="orders"] .badge-stale').waitFor();
    await page.click('a[data-tab="nodes"]');
    await page.locator(`#nodes tr[data-node="${broker.httpAddress}"] .badge-down`).waitFor();
  });
});

/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` package driven by
 * playwright-core (which downloads no browser of its own), with a fresh profile per launch and no
 * network of its own (no updates, sync or QUIC probes) so a test sees only what it starts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether the browser is installed; `.ci/run` installs it, so CI=true makes a missing one fail. */
export const hasChromium = existsSync(CHROMIUM_PATH);

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1280, height: 800 }): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'nsqworker-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The DOM as the page sees it, for callbacks that run in the page (this project has no DOM types). */
interface PageGlobals {
  document: { body: { dataset: Record<string, string | undefined> } };
}

/** Waits until the page has shown the console's poll `tick` (main.ts stamps it on <body>). */
export async function waitForTick(page: Page, tick: number): Promise<void> {
  await page.waitForFunction((wanted) => Number((globalThis as unknown as PageGlobals).document.body.dataset.tick) >= wanted, tick);
}

/**
 * The nsqd HTTP calls behind task channel creation, on edge cases a real nsqd is hard to drive
 * into: a 403 TLS_REQUIRED (its own code, with the HTTPS port to follow), and an unpause that
 * fails after the topic was paused (said loudly, never silently left). A scripted HTTP server on
 * 127.0.0.1 port 0 plays nsqd.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NsqdHttp, NsqdHttpError } from '../../runner/ops/nsqd-http.ts';
import { ensureTaskChannels, TopicLeftPausedError } from '../../runner/ops/task-channels.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** An HTTP server answering each request with `answer(method, path)`; records the requests. */
async function scripted(answer: (method: string, path: string) => { status: number; body: string }): Promise<{ address: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push(`${req.method} ${path.split('?')[0]}`);
    const { status, body } = answer(req.method ?? 'GET', path);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('task channels over nsqd HTTP', () => {
  it('reports 403 TLS_REQUIRED as E_NSQD_TLS_REQUIRED with the https_port to follow', async () => {
    const nsqd = await scripted(() => ({ status: 403, body: '{"message": "TLS_REQUIRED", "https_port": 4152}' }));
    const error = await ensureTaskChannels(new NsqdHttp(nsqd.address), 't', ['a', 'b'], 'c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NsqdHttpError);
    expect(error).toMatchObject({ code: 'E_NSQD_TLS_REQUIRED', status: 403, httpsPort: 4152 });
  });

  it('pauses a topic with no channel, creates each channel, and says so when the unpause fails', async () => {
    const topicState = '{"topics":[{"topic_name":"t","channels":[],"paused":false}]}';
    const nsqd = await scripted((method, path) => {
      if (path.startsWith('/stats')) return { status: 200, body: topicState };
      if (path.startsWith('/topic/unpause')) return { status: 500, body: '{"message":"INTERNAL_ERROR"}' };
      return { status: 200, body: '' };
    });
    const error = await ensureTaskChannels(new NsqdHttp(nsqd.address), 't', ['a', 'b'], 'c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TopicLeftPausedError);
    expect((error as Error).message).toMatch(/topic t on http:\/\/127\.0\.0\.1:\d+ is left paused .*POST \/topic\/unpause\?topic=t/);
    // The marker channel (c.paused-by-nsqworker) stays: it tells the next run that the pause is this worker's to undo.
    expect(nsqd.seen).toEqual(['GET /stats', 'POST /topic/pause', 'POST /channel/create', 'POST /channel/create', 'POST /channel/create', 'POST /topic/unpause']);
  });

  it('creates a missing channel without pausing a topic that already has channels', async () => {
    const nsqd = await scripted((_method, path) =>
      path.startsWith('/stats') ? { status: 200, body: '{"topics":[{"topic_name":"t","channels":[{"channel_name":"a"}],"paused":false}]}' } : { status: 200, body: '' },
    );
    expect(await ensureTaskChannels(new NsqdHttp(nsqd.address), 't', ['a', 'b'], 'c')).toEqual({
      created: ['b'],
      paused: false,
      resumed: false,
      pausedByOther: false,
      before: new Map([['a', { name: 'a', depth: 0, deferred: 0, inFlight: 0, clients: 0, paused: false }]]),
    });
    expect(nsqd.seen).toEqual(['GET /stats', 'POST /channel/create']);
  });
});

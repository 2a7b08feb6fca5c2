/**
 * The nsqd HTTP calls behind task channel creation, on edge cases a real nsqd is hard to drive
 * into: a 403 TLS_REQUIRED (its own code, with the HTTPS port to follow), and an unpause that
 * fails after the topic was paused (said loudly, never silently left). A scripted HTTP server on
 * 127.0.0.1 port 0 plays nsqd.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NsqdHttp, NsqdHttpError } from '../../runner/ops/nsqd-http.ts';
import { ensureTaskChannels, TopicLeftPausedError } from '../../runner/ops/task-channels.ts';

const servers: Array<Server | TcpServer> = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A TCP server on 127.0.0.1 port 0 handing each connection to `onConnection`; its address. */
async function rawServer(onConnection: (socket: Socket) => void): Promise<string> {
  const server = createTcpServer((socket) => {
    sockets.push(socket);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

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
    // Without TLS options the redirect is not followed: one request, answered with this error.
    expect(nsqd.seen).toEqual(['GET /stats']);
  });

  it('says why an nsqd gave no answer: refused, timed out, or not HTTP at all', async () => {
    const refused = await new NsqdHttp('127.0.0.1:1').info().catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'E_NSQD_HTTP_UNREACHABLE', status: undefined });
    expect((refused as Error).message).toBe('GET http://127.0.0.1:1/info: ECONNREFUSED');

    // A TCP server that never answers, and one that answers as nsqd's TCP port does.
    const silent = await rawServer(() => {});
    const timedOut = await new NsqdHttp(silent, 200).info().catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ code: 'E_NSQD_HTTP_UNREACHABLE' });
    expect((timedOut as Error).message).toBe(`GET http://${silent}/info: The operation was aborted due to timeout`);

    const tcpPort = await rawServer((socket) => socket.end('\x00\x00\x00\x12\x00\x00\x00\x01E_BAD_PROTOCOL'));
    const notHttp = await new NsqdHttp(tcpPort).info().catch((e: unknown) => e);
    expect(notHttp).toMatchObject({ code: 'E_NSQD_HTTP_UNREACHABLE' });
    expect((notHttp as Error).message).toMatch(/answered with something other than HTTP .*is it an nsqd or lookupd TCP port\?/);
  });

  it('pauses a topic with no channel, creates each channel, and says so when the unpause fails', async () => {
    const topicState = '{"topics":[{"topic_name":"t","channels":[],"paused":false}]}';
    const nsqd = await scripted((_method, path) => {
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

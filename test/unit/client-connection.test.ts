import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NsqConnection, type ConnectionDelegate } from '../../client/connection.ts';
import { ProducerOptionsSchema, parseOptions } from '../../client/options.ts';
import type { ProtocolError } from '../../protocol/errors.ts';
import { encodeMessagePayload } from '../../protocol/message.ts';
import { FrameType } from '../../protocol/frames.ts';
import { identifyResponse, startScriptedPeer, type ScriptedPeer } from '../support/scripted-peer.ts';

const peers: ScriptedPeer[] = [];
const connections: NsqConnection[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of connections.splice(0)) c.destroy();
  for (const p of peers.splice(0)) await p.close();
});

function recordingDelegate() {
  const events: string[] = [];
  const errors: ProtocolError[] = [];
  let closeResolve: (error: Error | undefined) => void = () => {};
  const closed = new Promise<Error | undefined>((resolve) => (closeResolve = resolve));
  const delegate: ConnectionDelegate = {
    onMessage: (payload) => events.push(`message ${payload.subarray(26).toString()}`),
    onResponse: (data) => events.push(`response ${data.toString()}`),
    onProtocolError: (error) => {
      errors.push(error);
      events.push(`error ${error.code}`);
    },
    onClose: (error) => closeResolve(error),
  };
  return { delegate, events, errors, closed };
}

async function connectTo(peerSetup: (peer: ScriptedPeer) => void, options: Record<string, unknown> = {}) {
  const peer = await startScriptedPeer();
  peers.push(peer);
  peerSetup(peer);
  const o = parseOptions(ProducerOptionsSchema, { nsqdTcpAddresses: [peer.address], connectTimeoutMs: 1000, ...options }, 'test');
  const rec = recordingDelegate();
  const connection = new NsqConnection(peer.address, o, rec.delegate);
  connections.push(connection);
  return { peer, connection, ...rec };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function answerIdentify(peer: ScriptedPeer, answer: string): void {
  void peer.accepted().then(async (client) => {
    await client.next('IDENTIFY');
    client.respond(answer);
  });
}

describe('NsqConnection against a scripted peer', () => {
  it('sends the magic and a negotiating IDENTIFY, and keeps the negotiated limits', async () => {
    const { peer, connection } = await connectTo((p) => answerIdentify(p, identifyResponse({ max_rdy_count: 7, msg_timeout: 4321 })));
    const identity = await connection.connect();
    expect(identity.maxRdyCount).toBe(7);
    expect(identity.msgTimeoutMs).toBe(4321);
    const client = peer.clients[0]!;
    expect(client.magic.toString()).toBe('  V2');
    const identify = JSON.parse(client.commands[0]!.body!.toString());
    expect(identify).toMatchObject({ feature_negotiation: true, heartbeat_interval: 30000 });
    expect(identify.user_agent).toMatch(/^nsqworker\//);
  });

  it('treats a bare OK as an old server with default limits', async () => {
    const { connection } = await connectTo((p) => answerIdentify(p, 'OK'));
    const identity = await connection.connect();
    expect(identity.maxRdyCount).toBe(2500);
    expect(identity.negotiated).toBeUndefined();
  });

  it('rejects an unreadable IDENTIFY answer with E_UNEXPECTED_FRAME', async () => {
    const { connection } = await connectTo((p) => answerIdentify(p, '{"max_rdy_count":"lots"}'));
    await expect(connection.connect()).rejects.toMatchObject({ code: 'E_UNEXPECTED_FRAME' });
  });

  it('fails with E_AUTH_REQUIRED when the server wants AUTH and no secret is set', async () => {
    const { connection } = await connectTo((p) => answerIdentify(p, identifyResponse({ auth_required: true })));
    await expect(connection.connect()).rejects.toMatchObject({ code: 'E_AUTH_REQUIRED' });
  });

  it('times out a server that never answers IDENTIFY', async () => {
    const { connection } = await connectTo(() => {}, { connectTimeoutMs: 200 });
    await expect(connection.connect()).rejects.toMatchObject({ code: 'E_CONNECT_TIMEOUT' });
  });

  it('reports a refused connection as E_CONNECTION_CLOSED', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const o = parseOptions(ProducerOptionsSchema, { nsqdTcpAddresses: [`127.0.0.1:${port}`] }, 'test');
    const connection = new NsqConnection(`127.0.0.1:${port}`, o, recordingDelegate().delegate);
    await expect(connection.connect()).rejects.toMatchObject({ code: 'E_CONNECTION_CLOSED' });
  });

  it('answers heartbeats with NOP and never surfaces them; non-fatal errors keep the connection', async () => {
    const { peer, connection, events, errors } = await connectTo((p) => answerIdentify(p, identifyResponse()));
    await connection.connect();
    const client = peer.clients[0]!;
    client.respond('_heartbeat_');
    await client.next('NOP');
    client.error('E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight');
    client.respond('OK');
    await until(() => events.length === 2);
    expect(events).toEqual(['error E_FIN_FAILED', 'response OK']);
    expect(errors[0]!.fatal).toBe(false);
    expect(connection.connected).toBe(true);
  });

  it('hands message frames over and closes on an unknown frame type', async () => {
    const { peer, connection, events, closed } = await connectTo((p) => answerIdentify(p, identifyResponse()));
    await connection.connect();
    const client = peer.clients[0]!;
    client.frame(FrameType.Message, encodeMessagePayload(1, 1, '0123456789abcdef', Buffer.from('hello')));
    client.frame(7, 'what');
    const error = await closed;
    expect(events).toEqual(['message hello']);
    expect(error).toMatchObject({ code: 'E_UNEXPECTED_FRAME' });
  });

  it('closes with a frame size error on garbage', async () => {
    const { peer, connection, closed } = await connectTo((p) => answerIdentify(p, identifyResponse()));
    await connection.connect();
    peer.clients[0]!.socket.write('HTTP/1.1 400 Bad Request\r\n\r\n');
    expect(await closed).toMatchObject({ code: 'E_FRAME_SIZE' });
  });

  it('closes with E_READ_TIMEOUT after two heartbeat intervals of silence', async () => {
    const { connection, closed } = await connectTo((p) => answerIdentify(p, identifyResponse()), { heartbeatIntervalMs: 1000 });
    await connection.connect();
    const started = Date.now();
    expect(await closed).toMatchObject({ code: 'E_READ_TIMEOUT' });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(4000);
  });

  it('batches FIN/REQ/TOUCH of one tick into one socket write, in order', async () => {
    const { peer, connection } = await connectTo((p) => answerIdentify(p, identifyResponse()));
    await connection.connect();
    const write = vi.spyOn(net.Socket.prototype, 'write');
    for (let i = 0; i < 100; i++) connection.queueFin(`id${String(i).padStart(14, '0')}`);
    connection.queueReq('0000000000000req', 1500);
    // Past any broker's max-req-timeout, sent as a number nsqd parses (it clamps), not 1e+21.
    connection.queueReq('00000000000huge1', 1e21);
    connection.queueTouch('00000000000touch');
    expect(write).not.toHaveBeenCalled();
    const client = peer.clients[0]!;
    await client.next('TOUCH');
    expect(write).toHaveBeenCalledTimes(1);
    const names = client.commands.slice(1).map((c) => c.params.join(' '));
    expect(names[0]).toBe('FIN id00000000000000');
    expect(names[99]).toBe('FIN id00000000000099');
    expect(names[100]).toBe('REQ 0000000000000req 1500');
    expect(names[101]).toBe('REQ 00000000000huge1 1000000000000');
  });
});

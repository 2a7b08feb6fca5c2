/**
 * An nsqd auth server for tests (node:http on 127.0.0.1, port 0): every GET is recorded, and the
 * answer is whatever the test sets — a grant, a status code, garbage, or no answer at all.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AuthGrant {
  topic: string;
  channels: string[];
  permissions: string[];
}

export type AuthAnswer =
  | { kind: 'grant'; ttl: number; identity?: string; identityUrl?: string; authorizations: AuthGrant[] }
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'hang' }
  /** `then`, once `afterMs` have passed: a slow auth server. */
  | { kind: 'later'; afterMs: number; then: AuthAnswer };

export interface AuthRequestSeen {
  path: string;
  /** The query string as sent, without `?`. */
  query: string;
  params: Record<string, string>;
  accept: string | undefined;
}

export interface TestAuthServer {
  /** `127.0.0.1:port`, as `--auth-http-address` takes it. */
  address: string;
  requests: AuthRequestSeen[];
  answer: (params: Record<string, string>) => AuthAnswer;
  close(): Promise<void>;
}

export async function startAuthServer(answer: TestAuthServer['answer']): Promise<TestAuthServer> {
  const hanging = new Set<ServerResponse>();
  const state: TestAuthServer = { address: '', requests: [], answer, close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://auth');
    const params = Object.fromEntries(url.searchParams);
    state.requests.push({ path: url.pathname, query: url.search.slice(1), params, accept: req.headers.accept });
    write(res, state.answer(params));
  });
  const write = (res: ServerResponse, reply: AuthAnswer): void => {
    if (reply.kind === 'later') {
      hanging.add(res);
      const timer = setTimeout(() => (hanging.delete(res), write(res, reply.then)), reply.afterMs);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    if (reply.kind === 'hang') {
      hanging.add(res);
      return;
    }
    if (reply.kind === 'status') {
      res.writeHead(reply.status, { 'Content-Type': 'application/json' });
      res.end(reply.body ?? '');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({ ttl: reply.ttl, identity: reply.identity ?? '', identity_url: reply.identityUrl ?? '', authorizations: reply.authorizations }),
    );
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** Everything on every topic and channel, for `ttl` seconds. */
export const grantAll = (ttl = 3600, identity = 'tester'): AuthAnswer => ({
  kind: 'grant',
  ttl,
  identity,
  identityUrl: 'https://auth.example/tester',
  authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['subscribe', 'publish'] }],
});

// A small web app that publishes to NSQ, as a user's app would: plain Node, plain JavaScript.
//
//   POST /signup?email=a@example.com          one message (PUB)
//   POST /signups   body: ["a@x.io","b@x.io"] one atomic batch (MPUB)
//   POST /reminder?email=a@example.com&delayMs=60000   a deferred message (DPUB)
//
// Publishes that fail while a broker restarts are retried by the Producer (the `retry` option);
// a publish that still fails answers 503 with the reason, and the app keeps serving.
import { createServer } from 'node:http';
import { Producer } from 'nsqworker';

const nsqdTcpAddresses = (process.env.NSQD_TCP_ADDRESSES ?? '127.0.0.1:4150').split(',');
const port = Number(process.env.PORT ?? 3000);
const topic = 'signups';

const producer = new Producer({
  nsqdTcpAddresses,
  retry: { attempts: 10, initialDelayMs: 100, maxDelayMs: 2000 },
});
producer.on('error', (error) => console.error(`publish attempt failed: ${error.message}`));

async function readBody(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(request, url) {
  const email = url.searchParams.get('email');
  if (request.method === 'POST' && url.pathname === '/signup' && email) {
    await producer.publish(topic, { email, kind: 'welcome' });
    return 'published 1';
  }
  if (request.method === 'POST' && url.pathname === '/signups') {
    let emails;
    try {
      emails = JSON.parse(await readBody(request));
    } catch {
      emails = undefined;
    }
    if (!Array.isArray(emails) || emails.length === 0) throw Object.assign(new Error('expected a JSON array of emails'), { status: 400 });
    await producer.publishMany(topic, emails.map((address) => ({ email: String(address), kind: 'welcome' })));
    return `published ${emails.length}`;
  }
  if (request.method === 'POST' && url.pathname === '/reminder' && email) {
    const delayMs = Number(url.searchParams.get('delayMs') ?? 60_000);
    await producer.publishDeferred(topic, { email, kind: 'reminder' }, delayMs);
    return `deferred 1 by ${delayMs} ms`;
  }
  throw Object.assign(new Error('not found'), { status: 404 });
}

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  handle(request, url).then(
    (text) => response.writeHead(202, { 'content-type': 'text/plain' }).end(`${text}\n`),
    (error) => {
      // 400/404 are the caller's mistakes; anything else is a publish that failed after its retries.
      const status = error.status ?? 503;
      if (status === 503) console.error(`publish failed: ${error.code ?? ''} ${error.message}`);
      response.writeHead(status, { 'content-type': 'text/plain' }).end(`${error.message}\n`);
    },
  );
});

server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address();
  console.log(`publish-app listening on http://127.0.0.1:${bound}, publishing to ${nsqdTcpAddresses.join(', ')}`);
});

// Ctrl-C or SIGTERM: stop taking requests, let outstanding publishes finish, exit.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    producer.close().then(() => process.exit(0));
  });
}

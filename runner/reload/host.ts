/**
 * The child side of `--watch`: loads the worker's code in a process of its own, runs tasks the
 * parent sends, and answers with their outcomes. The parent keeps the broker, the connections and
 * the dedup queues; a reload replaces this whole process, so nothing of the old code lingers.
 *
 * It warms up first (tsx and the nsqworker package loaded), so that loading a changed worker file
 * costs only the user's own files.
 */
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { PublishBody } from '../../client/body.ts';
import { Producer } from '../../client/producer.ts';
import { loadConfig } from '../config-file.ts';
import { DedupQueue } from '../dedup.ts';
import { createLogger, type LogLevel } from '../log.ts';
import { runTask, type TaskEnvironment } from '../pipeline.ts';
import { fieldsOf, parseWithFields, valuesFromEnv, valuesFromFlags } from '../schema-flags.ts';
import { workerRuntimeOf } from '../worker-runtime.ts';
import { serializeError, type ChildToParent, type LoadRequest, type ParentToChild } from './protocol.ts';

const importedFiles = (globalThis as { __nsqworkerImportedFiles?: Set<string> }).__nsqworkerImportedFiles ?? new Set<string>();

function send(message: ChildToParent): void {
  process.send?.(message);
}

// The parent decides when this process stops: a terminal's Ctrl-C reaches the whole process group.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => process.exit(0));

let env: TaskEnvironment | undefined;
let dedup = new Map<string, DedupQueue>();
let dedupQueueSize = 0;
let producer: Producer | undefined;
const abort = new AbortController();

function replaceDedup(keys: Record<string, string[]>): void {
  dedup = new Map(
    Object.entries(keys).map(([task, list]) => {
      const queue = new DedupQueue(dedupQueueSize);
      for (const key of list) queue.add(key);
      return [task, queue];
    }),
  );
}

async function load(request: LoadRequest): Promise<void> {
  importedFiles.clear();
  const moduleExports = (await import(pathToFileURL(request.file).href)) as Record<string, unknown>;
  const runtime = workerRuntimeOf(moduleExports, request.file);
  const { config } = await loadConfig(request.configPath);
  const fields = runtime.optionsSchema === undefined ? [] : fieldsOf(runtime.optionsSchema);
  const options =
    runtime.optionsSchema === undefined
      ? {}
      : (parseWithFields(
          runtime.optionsSchema,
          fields,
          {
            ...(config.workers?.[request.workerKey] ?? {}),
            ...valuesFromEnv(fields, request.env),
            ...valuesFromFlags(fields, request.flags),
          },
          `options of worker ${request.workerKey}`,
        ) as Record<string, unknown>);
  const log = createLogger(request.logLevel as LogLevel).child({ topic: request.topic });
  dedupQueueSize = request.dedupQueueSize;
  replaceDedup(request.dedup);
  const publishAddresses = request.publishAddresses;
  env = {
    topic: request.topic,
    channelOf: (task) => request.taskChannels[task] ?? request.channel,
    runtime,
    instance: runtime.instantiate(options, log.child({ channel: request.channel })),
    options,
    log,
    signal: abort.signal,
    publish: (topic: string, body: PublishBody) => {
      producer ??= new Producer({ nsqdTcpAddresses: publishAddresses });
      return producer.publish(topic, body);
    },
    seen: (task, key) => dedup.get(task)?.has(key) ?? false,
  };
  const files = [...importedFiles].filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url.split('?')[0]!));
  send({ t: 'loaded', taskNames: [...runtime.taskNames], files: [...new Set([request.file, ...files])] });
}

async function run(message: Extract<ParentToChild, { t: 'run' }>): Promise<void> {
  const current = env!;
  const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
  try {
    const outcome = await runTask(current, message.task, {
      id: message.id,
      attempts: message.attempts,
      timestamp: message.timestamp,
      body,
      touch: () => send({ t: 'touch', seq: message.seq }),
    });
    if (outcome.kind === 'done') dedup.get(message.task)?.add(outcome.key);
    send({ t: 'result', seq: message.seq, outcome });
  } catch (error) {
    send({ t: 'failed', seq: message.seq, error: serializeError(error) });
  }
}

async function close(): Promise<void> {
  abort.abort(new Error('worker code replaced or shutting down'));
  try {
    await env?.instance.close();
  } finally {
    await producer?.close();
    send({ t: 'closed' });
    process.disconnect?.();
  }
}

process.on('message', (message: ParentToChild) => {
  switch (message.t) {
    case 'load':
      load(message).catch((error: unknown) => send({ t: 'load-failed', error: serializeError(error) }));
      return;
    case 'run':
      void run(message);
      return;
    case 'dedup':
      replaceDedup(message.dedup);
      return;
    case 'abort':
      abort.abort(new Error('worker shutting down'));
      return;
    case 'close':
      void close();
      return;
  }
});

// Warm up: the package every worker imports, so a reload only loads the user's own files.
await import('../../index.ts');
send({ t: 'warm' });

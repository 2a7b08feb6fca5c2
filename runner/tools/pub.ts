/**
 * `nsqworker pub`, after NSQ's to_nsq: publishes its arguments, or standard input split at a
 * delimiter, to one topic. Unthrottled, messages go in MPUB batches (one per chunk read, split
 * at BATCH_BYTES); with a rate, one PUB each, spaced evenly. Publishes are pipelined either way.
 */
import { Producer } from '../../client/producer.ts';
import type { ClientSecurity } from '../config/client-security.ts';
import { ToolError, ToolErrorCode } from './errors.ts';
import { refusalHint } from '../ops/refusal-hints.ts';
import { LineSplitter } from './line-splitter.ts';
import { Pacer, PublishPipeline } from './publish-pipeline.ts';

export interface PubOptions {
  topic: string;
  /** The first is used, the next ones when it fails (the producer's failover). */
  nsqdTcpAddresses: string[];
  /** The byte that ends a message on standard input. */
  delimiter: number;
  /** Messages per second; 0 publishes as fast as nsqd accepts them. */
  rate: number;
  /** Bodies given on the command line; undefined reads standard input. */
  bodies: string[] | undefined;
  input: AsyncIterable<Buffer | string>;
  /** TLS, compression and AUTH for the connection to nsqd (the --tls*, --snappy, --deflate and --auth-secret flags). */
  security?: ClientSecurity;
  /** The producer's warnings (W_COMPRESSION_DECLINED: nsqd did not turn on --snappy or --deflate). */
  onWarning?: (message: string) => void;
}

/** Body bytes per MPUB: well under nsqd's 5 MiB --max-body-size, big enough to amortise a round trip. */
const BATCH_BYTES = 512 * 1024;
/** Publish commands (PUB or MPUB) awaiting nsqd's answer at once. */
const PIPELINE_DEPTH = 64;

/** Publishes everything; resolves with the number of messages nsqd accepted, or rejects with a {@link ToolError}. */
export async function runPub(options: PubOptions): Promise<number> {
  const producer = new Producer({ nsqdTcpAddresses: options.nsqdTcpAddresses, closeTimeoutMs: 10_000, ...options.security });
  const { onWarning } = options;
  if (onWarning !== undefined) producer.on('warning', (warning) => onWarning(warning.message));
  const pipeline = new PublishPipeline(PIPELINE_DEPTH);
  const pacer = options.rate > 0 ? new Pacer(options.rate) : undefined;
  const send = async (messages: Buffer[]): Promise<void> => {
    if (pacer === undefined) await sendBatches(producer, pipeline, options.topic, messages);
    else await sendPaced(producer, pipeline, pacer, options.topic, messages);
  };
  try {
    if (options.bodies !== undefined) await send(options.bodies.map((body) => Buffer.from(body, 'utf8')));
    else await sendInput(options.input, new LineSplitter(options.delimiter), send, pipeline);
    await pipeline.drain();
  } finally {
    await producer.close();
  }
  if (pipeline.error !== undefined) {
    throw new ToolError(ToolErrorCode.PublishFailed, `${pipeline.error.message}${refusalHint(pipeline.error, { tool: true })} (${pipeline.published} messages published to ${options.topic})`, {
      cause: pipeline.error,
    });
  }
  return pipeline.published;
}

async function sendInput(
  input: AsyncIterable<Buffer | string>,
  splitter: LineSplitter,
  send: (messages: Buffer[]) => Promise<void>,
  pipeline: PublishPipeline,
): Promise<void> {
  const messages: Buffer[] = [];
  try {
    for await (const chunk of input) {
      splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk, messages);
      // What one read brought goes out now, so a slow stream (tail -f | ...) is not held back.
      if (messages.length > 0) await send(messages.splice(0));
      if (pipeline.error !== undefined) return;
    }
  } catch (cause) {
    throw new ToolError(ToolErrorCode.InputFailed, `reading standard input failed: ${(cause as Error).message}`, { cause });
  }
  splitter.end(messages);
  if (messages.length > 0) await send(messages);
}

async function sendBatches(producer: Producer, pipeline: PublishPipeline, topic: string, messages: Buffer[]): Promise<void> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const size = messages[i]!.length + 4;
    if (bytes + size > BATCH_BYTES && i > start) {
      await publishBatch(producer, pipeline, topic, messages.slice(start, i));
      if (pipeline.error !== undefined) return;
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < messages.length) await publishBatch(producer, pipeline, topic, messages.slice(start));
}

function publishBatch(producer: Producer, pipeline: PublishPipeline, topic: string, batch: Buffer[]): Promise<void> {
  const publish = batch.length === 1 ? producer.publish(topic, batch[0]!) : producer.publishMany(topic, batch);
  return pipeline.add(publish, batch.length);
}

async function sendPaced(producer: Producer, pipeline: PublishPipeline, pacer: Pacer, topic: string, messages: Buffer[]): Promise<void> {
  for (const message of messages) {
    const due = pacer.next();
    if (due !== undefined) await due;
    const first = pipeline.published === 0 && pipeline.error === undefined;
    await pipeline.add(producer.publish(topic, message), 1);
    if (first) {
      // The first publish also connects. Messages paced while that takes would queue up and
      // leave together, so the schedule starts once nsqd has answered the first one.
      await pipeline.drain();
      pacer.restart(1);
    }
    if (pipeline.error !== undefined) return;
  }
}

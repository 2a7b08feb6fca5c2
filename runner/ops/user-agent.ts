/**
 * How a worker's consumers name themselves to nsqd, so that tools reading `/stats` (the console,
 * nsqadmin, nsq_stat) can tell workers from other clients. The contract, also in README.md:
 *
 * - `user_agent`: `nsqworker/<version> (worker=<topic>/<channel>; task=<task>[; dead_letter=<topic>][; health=<host:port>])`
 * - `client_id`: `<hostname>:<pid>`
 *
 * `<topic>` is the topic as consumed (with `--topic-prefix`), `<channel>` the worker's channel as its
 * file names it (a task's consumer subscribes `<channel>.<task>` when the worker has several tasks).
 */
import { hostname } from 'node:os';
import { CLIENT_VERSION } from '../../client/version.ts';

export interface WorkerIdentity {
  topic: string;
  channel: string;
  task: string;
  deadLetterTopic: string | undefined;
  /** The bound `--health-address`, when the worker serves one. */
  healthAddress: string | undefined;
}

export function workerUserAgent(identity: WorkerIdentity): string {
  const parts = [`worker=${identity.topic}/${identity.channel}`, `task=${identity.task}`];
  if (identity.deadLetterTopic !== undefined) parts.push(`dead_letter=${identity.deadLetterTopic}`);
  if (identity.healthAddress !== undefined) parts.push(`health=${identity.healthAddress}`);
  return `nsqworker/${CLIENT_VERSION} (${parts.join('; ')})`;
}

export function workerClientId(): string {
  return `${hostname()}:${process.pid}`;
}

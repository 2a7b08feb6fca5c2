/**
 * The example worker: topic `log`, channel `pageview`. Each page view is counted per path, and slow
 * ones are stored; the two tasks run on their own channels (`pageview.count`, `pageview.store`) so
 * one failing never holds the other back.
 *
 *   npm start
 *   curl -d '{"path":"/home","durationMs":120}' 'http://127.0.0.1:4151/pub?topic=log'
 */
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import { Worker, type TaskContext, type WorkerMessage } from 'nsqworker';

const options = z.object({
  slowThresholdMs: z.number().int().min(0).default(500).describe('page views slower than this are stored'),
  storeFile: z.string().default('.nsqworker/slow-pageviews.jsonl').describe('where slow page views are appended'),
});

const body = z.object({
  path: z.string().startsWith('/'),
  durationMs: z.number().min(0),
  userId: z.string().optional(),
});

type Pageview = z.output<typeof body>;
type Options = z.output<typeof options>;

export default class PageviewWorker extends Worker<typeof options, typeof body> {
  static override options = options;
  static override body = body;

  private readonly counts = new Map<string, number>();

  /** A path that is no path (a broken client's) is wrong: dead-lettered before any task runs. */
  override validate(message: WorkerMessage<Pageview>): boolean {
    return message.data.path.startsWith('/');
  }

  async countTask(message: WorkerMessage<Pageview>, context: TaskContext<Options>): Promise<void> {
    const count = (this.counts.get(message.data.path) ?? 0) + 1;
    this.counts.set(message.data.path, count);
    context.log.info({ path: message.data.path, count }, 'page view counted');
  }

  async storeTask(message: WorkerMessage<Pageview>, context: TaskContext<Options>): Promise<void> {
    if (message.data.durationMs < context.options.slowThresholdMs) return;
    await appendFile(context.options.storeFile, `${JSON.stringify(message.data)}\n`);
    context.log.info({ path: message.data.path, durationMs: message.data.durationMs }, 'slow page view stored');
  }
}

/**
 * What a worker says of itself on its `--health-address` (named in its user agent): `/metrics` for
 * each task's handled, failed and dead-lettered counts, `nsqworker_ready` and `nsqworker_draining`.
 * Each address is asked at most once per poll interval however many pages show it, with a short
 * deadline: a worker that does not answer is shown from nsqd's figures alone.
 */
import { RateTracker } from './rates.ts';

export interface TaskFigures {
  handledRate: number | null;
  failedRate: number | null;
  deadLetteredRate: number | null;
}

export interface WorkerFigures {
  state: 'ready' | 'starting' | 'draining' | null;
  tasks: Map<string, TaskFigures>;
  error: string | null;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments and malformed lines skipped). */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(match[3]);
    if (!Number.isNaN(value)) samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

const COUNTERS = {
  handledRate: 'nsqworker_messages_finished_total',
  failedRate: 'nsqworker_messages_requeued_total',
  deadLetteredRate: 'nsqworker_messages_dead_lettered_total',
} as const;

export class WorkerHealthReader {
  private readonly cache = new Map<string, { atMs: number; figures: Promise<WorkerFigures> }>();
  private readonly rates = new RateTracker();

  constructor(
    private readonly intervalMs: number,
    private readonly timeoutMs = 1000,
  ) {}

  read(address: string): Promise<WorkerFigures> {
    const cached = this.cache.get(address);
    if (cached !== undefined && Date.now() - cached.atMs < this.intervalMs) return cached.figures;
    const figures = this.fetch(address);
    this.cache.set(address, { atMs: Date.now(), figures });
    // Addresses of workers gone long ago are not kept.
    for (const [key, entry] of this.cache) if (Date.now() - entry.atMs > 10 * this.intervalMs) this.cache.delete(key);
    return figures;
  }

  private async fetch(address: string): Promise<WorkerFigures> {
    let text: string;
    try {
      const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!response.ok) return { state: null, tasks: new Map(), error: `/metrics answered ${response.status}` };
      text = await response.text();
    } catch (error) {
      return { state: null, tasks: new Map(), error: (error as Error).message };
    }
    const now = Date.now();
    const samples = parsePrometheusText(text);
    const gauge = (name: string) => samples.find((sample) => sample.name === name)?.value;
    const tasks = new Map<string, TaskFigures>();
    for (const [field, name] of Object.entries(COUNTERS) as Array<[keyof TaskFigures, string]>) {
      for (const sample of samples) {
        if (sample.name !== name || sample.labels.task === undefined) continue;
        const figures = tasks.get(sample.labels.task) ?? { handledRate: null, failedRate: null, deadLetteredRate: null };
        figures[field] = this.rates.update(`${address}|${sample.labels.task}|${name}`, sample.value, now) ?? null;
        tasks.set(sample.labels.task, figures);
      }
    }
    const state = gauge('nsqworker_draining') === 1 ? 'draining' : gauge('nsqworker_ready') === 1 ? 'ready' : gauge('nsqworker_ready') === 0 ? 'starting' : null;
    return { state, tasks, error: null };
  }
}

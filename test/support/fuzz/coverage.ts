/**
 * Coverage feedback from V8's precise block coverage through `node:inspector`: after each input, the
 * blocks that ran and how often (in AFL-style count buckets) are features; an input that shows one
 * never seen before is kept. Taking the coverage resets V8's counters, so each reading is one input's.
 *
 * Coverage must start before the target's modules load: functions compiled earlier have no block
 * counters.
 */
import { Session } from 'node:inspector';

interface CoverageRange {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: Array<{ ranges: CoverageRange[] }>;
}

/** AFL's buckets: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+. */
function bucket(count: number): number {
  if (count <= 3) return count;
  if (count < 8) return 4;
  if (count < 16) return 5;
  if (count < 32) return 6;
  return count < 128 ? 7 : 8;
}

export class Coverage {
  private readonly session = new Session();
  private readonly features = new Set<string>();
  private readonly blocks = new Set<string>();
  private readonly functions = new Set<string>();
  private readonly counted = new Map<string, boolean>();
  private filter: RegExp = /$^/;

  constructor() {
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** Which scripts count, by URL; earlier readings of other scripts are dropped. */
  select(filter: RegExp): void {
    this.filter = filter;
    this.counted.clear();
    this.take();
  }

  /** Blocks and functions of the target's scripts that have run at least once so far. */
  get coveredBlocks(): number {
    return this.blocks.size;
  }

  get coveredFunctions(): number {
    return this.functions.size;
  }

  /** The features the last input showed that no input showed before (0: nothing new). */
  collect(): number {
    let fresh = 0;
    for (const script of this.take()) {
      if (!this.counts(script)) continue;
      for (const fn of script.functions) {
        const [whole] = fn.ranges;
        if (whole === undefined || whole.count === 0) continue;
        this.functions.add(`${script.scriptId}:${whole.startOffset}`);
        for (const range of fn.ranges) {
          if (range.count === 0) continue;
          const block = `${script.scriptId}:${range.startOffset}:${range.endOffset}`;
          this.blocks.add(block);
          const feature = `${block}:${bucket(range.count)}`;
          if (!this.features.has(feature)) {
            this.features.add(feature);
            fresh++;
          }
        }
      }
    }
    return fresh;
  }

  close(): void {
    this.session.disconnect();
  }

  private counts(script: ScriptCoverage): boolean {
    let counted = this.counted.get(script.scriptId);
    if (counted === undefined) {
      counted = this.filter.test(script.url);
      this.counted.set(script.scriptId, counted);
    }
    return counted;
  }

  private take(): ScriptCoverage[] {
    return (this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] }).result;
  }

  /** An in-thread session answers synchronously. */
  private post(method: string, params?: object): unknown {
    let answer: unknown;
    let failure: Error | null = null;
    this.session.post(method, params, (error, result) => {
      failure = error;
      answer = result;
    });
    if (failure !== null) throw failure;
    return answer;
  }
}

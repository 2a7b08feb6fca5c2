/**
 * nsq's own load generators, `bench_writer` and `bench_reader` (nsq/bench/), run against a broker
 * process, with their `ops/s` figure parsed from the line they print. The binaries come from
 * NSQ_BENCH_WRITER_BIN and NSQ_BENCH_READER_BIN; without them raw-bench-tool.ts stands in, with the
 * same flags, load shapes and output.
 *
 * Both Go tools open GOMAXPROCS connections (one per core). The writer keeps one MPUB in flight per
 * connection; the reader SUBs with RDY 2500 and FINs every message. Each runs for `--runfor` and
 * divides what it counted by that whole time: a reader that runs out of backlog counts its idle
 * time too, so the caller makes sure it never does (see broker-tools.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackProcess } from './children.ts';

const RAW_TOOL = fileURLToPath(new URL('./raw-bench-tool.ts', import.meta.url));

export type ToolRole = 'writer' | 'reader';

/** Which implementation runs: nsq's Go binary, or the stand-in. */
export function toolKind(role: ToolRole): 'nsq' | 'raw' {
  return (role === 'writer' ? process.env.NSQ_BENCH_WRITER_BIN : process.env.NSQ_BENCH_READER_BIN) ? 'nsq' : 'raw';
}

/** `bench_writer` / `bench_reader` in tables, with "(stand-in)" when raw-bench-tool.ts runs. */
export function toolLabel(role: ToolRole): string {
  return `bench_${role}${toolKind(role) === 'raw' ? ' (stand-in)' : ''}`;
}

export interface ToolOptions {
  tcpPort: number;
  topic?: string;
  channel?: string;
  /** Go duration syntax as the tools take it: `4s`, `1500ms`. */
  runfor: string;
  size?: number;
  batchSize?: number;
}

export interface ToolResult {
  opsPerS: number;
  durationS: number;
  /** The tool's closing line, as printed. */
  line: string;
}

function spawnTool(role: ToolRole, options: ToolOptions): ChildProcess {
  const args = [`--nsqd-tcp-address=127.0.0.1:${options.tcpPort}`, `--topic=${options.topic ?? 'sub_bench'}`, `--size=${options.size ?? 200}`, `--runfor=${options.runfor}`];
  if (role === 'writer') args.push(`--batch-size=${options.batchSize ?? 200}`);
  else args.push(`--channel=${options.channel ?? 'ch'}`);
  const bin = role === 'writer' ? process.env.NSQ_BENCH_WRITER_BIN : process.env.NSQ_BENCH_READER_BIN;
  const child = bin
    ? spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [...process.execArgv, RAW_TOOL, role, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  trackProcess(child);
  return child;
}

/** Runs the tool for its `runfor` and returns its figure; rejects with its output when it fails. */
export async function runTool(role: ToolRole, options: ToolOptions): Promise<ToolResult> {
  const child = spawnTool(role, options);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)));
  const match = /duration: ([\d.]+)(m?s)\b.*?([\d.]+)ops\/s/.exec(output);
  if (code !== 0 || match === null) throw new Error(`bench_${role} (${toolKind(role)}) exited ${code}:\n${output}`);
  const duration = Number(match[1]) * (match[2] === 'ms' ? 0.001 : 1);
  return { opsPerS: Number(match[3]), durationS: duration, line: output.trim().split('\n').pop()! };
}

/**
 * Starts the reader for a long `runfor`, to be stopped from outside once its channel is empty (the
 * worker drain row times all consumers the same way, by the channel's depth).
 */
export function startReader(options: Omit<ToolOptions, 'runfor'>): { stop(): Promise<void> } {
  const child = spawnTool('reader', { ...options, runfor: '600s' });
  let output = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-2000)));
  child.stdout!.resume();
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    async stop() {
      if (child.exitCode !== null) throw new Error(`bench_reader exited early:\n${output}`);
      child.kill('SIGKILL');
      await closed;
    },
  };
}

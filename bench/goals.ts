/**
 * The performance goals, each with our figure and its anchor from the same run, printed by
 * `npm run bench` as one table at the end. On a shared machine the absolute rates swing from run to
 * run; the ratio to an anchor measured minutes apart on the same machine is the figure to read.
 */
import type { Row } from './broker.ts';

export type Goal =
  /** ours / anchor must reach `value` (throughput). */
  | { kind: 'ratio-at-least'; value: number }
  /** ours must stay at or under `value`, in the row's unit (latency, counts). */
  | { kind: 'at-most'; value: number };

export interface GoalRow {
  metric: string;
  unit: string;
  ours: number;
  /** The peer measured in the same run; absent when its binary is not available. */
  anchor?: { name: string; value: number };
  goal: Goal;
}

/** A section that threw: a row saying so, so the table shows the goal was not measured. */
export function failedGoal(section: string, error: unknown): GoalRow {
  const text = error instanceof Error ? error.message : String(error);
  return { metric: `${section}: FAILED, ${String(text.split('\n')[0]).slice(0, 120)}`, unit: '', ours: Number.NaN, goal: { kind: 'at-most', value: Number.NaN } };
}

function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'msg/s') return Math.round(value).toLocaleString('en');
  if (unit === 'ms') return value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString('en');
  if (unit === 'MB') return value.toFixed(1);
  return String(Math.round(value * 100) / 100);
}

function ratioOf(row: GoalRow): number | undefined {
  return row.anchor === undefined || row.anchor.value === 0 ? undefined : row.ours / row.anchor.value;
}

function verdict(row: GoalRow): string {
  if (Number.isNaN(row.ours)) return '**failed**';
  if (row.goal.kind === 'at-most') return row.ours <= row.goal.value ? 'met' : '**missed**';
  const ratio = ratioOf(row);
  if (ratio === undefined) return 'no anchor';
  return ratio >= row.goal.value ? 'met' : '**missed**';
}

function goalText(row: GoalRow): string {
  if (Number.isNaN(row.goal.value)) return '-';
  return row.goal.kind === 'at-most' ? `≤ ${row.goal.value.toLocaleString('en')} ${row.unit}` : `≥ ${row.goal.value}×`;
}

/** Two decimals, or three where two would round a miss up to the goal (0.795 to 0.80 against 0.8). */
function ratioText(row: GoalRow, ratio: number): string {
  const shown = ratio.toFixed(2);
  if (row.goal.kind === 'ratio-at-least' && (Number(shown) >= row.goal.value) !== (ratio >= row.goal.value)) return `${ratio.toFixed(3)}×`;
  return `${shown}×`;
}

export function printGoals(rows: GoalRow[]): void {
  console.log('\nGoals (issue 15): ours beside its anchor from the same run\n');
  console.log('| metric | ours | anchor | ratio | goal | |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) {
    const ratio = ratioOf(row);
    const anchor = row.anchor === undefined ? '-' : `${row.anchor.name}: ${format(row.anchor.value, row.unit)}`;
    const ours = Number.isNaN(row.ours) ? '-' : `${format(row.ours, row.unit)} ${row.unit}`;
    const cells = [row.metric, ours, anchor, ratio === undefined ? '-' : ratioText(row, ratio), goalText(row), verdict(row)];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

/** The runner against the bare Consumer (runner.ts), as a goal row. */
export function runnerGoal(rows: Row[]): GoalRow[] {
  const row = rows[0];
  if (row === undefined || row.values.runner === undefined) return [];
  const bare = row.values['bare Consumer'];
  return [
    {
      metric: 'runner (one no-op task) against the bare Consumer, same broker',
      unit: 'msg/s',
      ours: row.values.runner,
      ...(bare === undefined ? {} : { anchor: { name: 'bare Consumer', value: bare } }),
      goal: { kind: 'ratio-at-least', value: 0.97 },
    },
  ];
}

/** Every row of a section that carries its own `target` (reload.ts's), as an at-most goal. */
export function targetGoals(prefix: string, rows: Row[]): GoalRow[] {
  return rows.flatMap((row) => {
    const measured = row.values.measured;
    const target = row.values.target;
    if (measured === undefined || target === undefined || row.higherIsBetter) return [];
    return [{ metric: `${prefix}: ${row.metric}`, unit: row.unit, ours: measured, goal: { kind: 'at-most', value: target } }];
  });
}

/** Numbers as people read them in a table: grouped digits, short rates, relative times. */

const grouped = new Intl.NumberFormat('en-US');

export function count(value: number): string {
  return grouped.format(value);
}

/** `12.3k` style for chart axes and tight cells. */
export function compact(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  return abs >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
}

/** A per-second rate; an em dash when there is none yet (first poll, or the node is down). */
export function rate(value: number | null): string {
  if (value === null) return '—';
  if (value === 0) return '0/s';
  return value < 10 ? `${value.toFixed(1)}/s` : `${compact(value)}/s`;
}

export function ago(unixMs: number | null, nowMs = Date.now()): string {
  if (unixMs === null) return 'never';
  return `${duration((nowMs - unixMs) / 1000)} ago`;
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

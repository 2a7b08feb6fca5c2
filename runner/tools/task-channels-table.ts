/**
 * `nsqworker stats --channel C` where C is a worker's channel: a worker with several tasks consumes
 * `C.<task>` (one channel per task), so C itself does not exist. The table then has a row per task
 * channel per poll, led by the channel's name, under one header.
 */
import { isEphemeralName } from '../../protocol/names.ts';
import { pauseMarkerChannel } from '../config/run-names.ts';
import { HEADER_COLUMNS, HEADER_EVERY_ROWS, HEADER_RULE, StatsTable, type ChannelTotals } from './stats-table.ts';

const EPHEMERAL = '#ephemeral';

/** The task channels of worker channel `channel` among `names` (`C.<task>`, or `C.<task>#ephemeral`), sorted. */
export function taskChannelsOf(names: Iterable<string>, channel: string): string[] {
  const base = isEphemeralName(channel) ? channel.slice(0, -EPHEMERAL.length) : channel;
  const suffix = base === channel ? '' : EPHEMERAL;
  // The marker of a pause under way (or left by a killed worker) is not a task.
  const marker = pauseMarkerChannel(channel);
  const found: string[] = [];
  for (const name of names) {
    if (name === marker || !name.startsWith(`${base}.`) || !name.endsWith(suffix)) continue;
    const task = name.slice(base.length + 1, name.length - suffix.length);
    if (task.length > 0 && !task.includes('#') && (suffix !== '' || !isEphemeralName(name))) found.push(name);
  }
  return found.sort();
}

export class TaskChannelsTable {
  private readonly tables = new Map<string, StatsTable>();
  private polls = 0;

  /** One poll: the header when due, then one row per task channel. */
  render(totals: ReadonlyMap<string, ChannelTotals>, channels: readonly string[]): string {
    const width = Math.max('channel'.length, ...channels.map((name) => name.length));
    let text = this.polls % HEADER_EVERY_ROWS === 0 ? `${''.padEnd(width)} ${HEADER_RULE}\n${'channel'.padEnd(width)} ${HEADER_COLUMNS}\n` : '';
    this.polls++;
    for (const channel of channels) {
      let table = this.tables.get(channel);
      if (table === undefined) this.tables.set(channel, (table = new StatsTable()));
      text += `${channel.padEnd(width)} ${table.row(totals.get(channel)!)}\n`;
    }
    return text;
  }
}

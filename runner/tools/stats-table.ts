/**
 * nsq_stat's table: a two-line header every 25 rows, then one row per poll with a channel's
 * numbers summed over every nsqd. `msgs` is the count since the previous poll (the total on the
 * first row), so a steady stream shows as a steady number.
 */

/** One channel's numbers, from /stats or summed over several nsqd. */
export interface ChannelTotals {
  depth: number;
  backendDepth: number;
  inFlight: number;
  deferred: number;
  requeued: number;
  timedOut: number;
  messages: number;
  clients: number;
}

export const EMPTY_TOTALS: Readonly<ChannelTotals> = Object.freeze({
  depth: 0,
  backendDepth: 0,
  inFlight: 0,
  deferred: 0,
  requeued: 0,
  timedOut: 0,
  messages: 0,
  clients: 0,
});

export function addTotals(a: ChannelTotals, b: ChannelTotals): ChannelTotals {
  return {
    depth: a.depth + b.depth,
    backendDepth: a.backendDepth + b.backendDepth,
    inFlight: a.inFlight + b.inFlight,
    deferred: a.deferred + b.deferred,
    requeued: a.requeued + b.requeued,
    timedOut: a.timedOut + b.timedOut,
    messages: a.messages + b.messages,
    clients: a.clients + b.clients,
  };
}

export const HEADER_EVERY_ROWS = 25;
export const HEADER_RULE = '-----------depth------------+--------------metadata---------------';

type Cells = [total: string, mem: string, disk: string, inflt: string, def: string, req: string, timeouts: string, msgs: string, clients: string];

/** Right-aligns each cell in its column; a number wider than its column pushes the line out rather than lose digits. */
function line(cells: Cells): string {
  const [total, mem, disk, inflt, def, req, timeouts, msgs, clients] = cells;
  return (
    `${total.padStart(8)} ${mem.padStart(6)} ${disk.padStart(7)} ${inflt.padStart(5)} ${def.padStart(5)} | ` +
    `${req.padStart(7)} ${timeouts.padStart(7)} ${msgs.padStart(12)} ${clients.padStart(7)}`
  );
}

export const HEADER_COLUMNS = line(['total', 'mem', 'disk', 'inflt', 'def', 'req', 't-o', 'msgs', 'clients']);

export class StatsTable {
  private rows = 0;
  private previous: ChannelTotals | undefined;

  /** The text for one poll: the header when it is due, then the row, each ending in a newline. */
  render(totals: ChannelTotals): string {
    const header = this.rows % HEADER_EVERY_ROWS === 0 ? `${HEADER_RULE}\n${HEADER_COLUMNS}\n` : '';
    return `${header}${this.row(totals)}\n`;
  }

  /** One poll's row alone, without a newline, for a table that prints its own header (several channels). */
  row(totals: ChannelTotals): string {
    const messages = this.previous === undefined ? totals.messages : totals.messages - this.previous.messages;
    this.previous = totals;
    this.rows++;
    const row = line([
      String(totals.depth),
      String(totals.depth - totals.backendDepth),
      String(totals.backendDepth),
      String(totals.inFlight),
      String(totals.deferred),
      String(totals.requeued),
      String(totals.timedOut),
      String(messages),
      String(totals.clients),
    ]);
    return row;
  }
}

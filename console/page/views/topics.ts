/**
 * The first page: cluster totals, the cluster's charts and every topic. The table is one string of
 * rows set at once; with 1,000 topics that is a few milliseconds, and an unchanged poll costs nothing.
 */
import { seriesKey, type Overview, type TopicRow } from '../../api-types.ts';
import { COLORS } from '../chart.ts';
import { element, hashFor, html, setHtml } from '../dom.ts';
import { count, rate } from '../format.ts';
import { badge, card, ChartPanel, type View } from './common.ts';

type SortKey = 'name' | 'depth' | 'channelDepth' | 'backendDepth' | 'messageCount' | 'messageRate' | 'channelCount';

const COLUMNS: Array<{ key: SortKey; label: string; numeric: boolean }> = [
  { key: 'name', label: 'Topic', numeric: false },
  { key: 'channelCount', label: 'Channels', numeric: true },
  { key: 'depth', label: 'Topic depth', numeric: true },
  { key: 'channelDepth', label: 'Channel depth', numeric: true },
  { key: 'backendDepth', label: 'On disk', numeric: true },
  { key: 'messageCount', label: 'Messages', numeric: true },
  { key: 'messageRate', label: 'Rate', numeric: true },
];

function compareRows(key: SortKey): (a: TopicRow, b: TopicRow) => number {
  if (key === 'name') return (a, b) => a.name.localeCompare(b.name);
  return (a, b) => (b[key] ?? -1) - (a[key] ?? -1) || a.name.localeCompare(b.name);
}

function topicRow(row: TopicRow) {
  return html`<tr data-topic="${row.name}">
    <td class="name"><a href="${hashFor.topic(row.name)}">${row.name}</a>${row.paused ? badge('paused', 'paused') : ''}${row.stale ? badge('stale', 'stale') : ''}${row.nodeCount === 0 ? badge('lookupd only', 'muted') : ''}</td>
    <td class="num">${count(row.channelCount)}</td>
    <td class="num" data-col="depth">${count(row.depth)}</td>
    <td class="num strong" data-col="channel-depth">${count(row.channelDepth)}</td>
    <td class="num muted">${count(row.backendDepth)}</td>
    <td class="num">${count(row.messageCount)}</td>
    <td class="num">${rate(row.messageRate)}</td>
  </tr>`;
}

export class TopicsView implements View {
  readonly root = element('div', 'view');
  private readonly cards = element('div', 'cards');
  private readonly tableBody: HTMLTableSectionElement;
  private readonly head: HTMLTableSectionElement;
  private readonly createBox = element('div', 'toolbar-actions');
  private readonly filter: HTMLInputElement;
  private readonly summary = element('span', 'table-summary');
  private readonly charts = new ChartPanel([
    { title: 'Messages published', unit: 'per second', lines: [{ key: seriesKey.total('rate'), label: 'rate', color: COLORS.total }] },
    { title: 'Depth', unit: 'messages waiting in topics and channels', lines: [{ key: seriesKey.total('depth'), label: 'depth', color: COLORS.depth }] },
  ]);
  private sort: SortKey = 'name';
  private last: Overview | undefined;

  constructor() {
    this.root.append(element('h1', '', html`Topics`), this.cards, this.charts.root);
    const toolbar = element('div', 'toolbar');
    this.filter = element('input', 'filter');
    this.filter.type = 'search';
    this.filter.placeholder = 'Filter topics';
    this.filter.setAttribute('aria-label', 'Filter topics');
    this.filter.addEventListener('input', () => this.renderTable());
    toolbar.append(this.filter, this.summary, this.createBox);
    const table = element('table', 'data');
    this.head = element('thead');
    this.tableBody = element('tbody');
    table.append(this.head, this.tableBody);
    table.id = 'topics';
    this.head.addEventListener('click', (event) => {
      const key = (event.target as HTMLElement).closest<HTMLElement>('[data-sort]')?.dataset.sort as SortKey | undefined;
      if (key === undefined) return;
      this.sort = key;
      this.renderTable();
    });
    const wrap = element('div', 'table-wrap');
    wrap.append(table);
    this.root.append(toolbar, wrap);
  }

  async refresh(overview: Overview): Promise<void> {
    this.last = overview;
    const up = overview.nodes.filter((node) => node.up).length;
    setHtml(this.cards, html`${card('Topics', count(overview.topics.length))}${card('Nodes', `${up} / ${overview.nodes.length}`, up < overview.nodes.length ? 'some not answering' : 'all answering')}${card('Waiting', count(overview.totals.depth), 'in topics and channels')}${card('In flight', count(overview.totals.inFlight))}${card('Publish rate', rate(overview.totals.messageRate))}`);
    setHtml(this.createBox, overview.canAct ? html`<form class="inline-form" data-create="topic"><input name="topic" placeholder="new-topic" aria-label="New topic name" required pattern="[.a-zA-Z0-9_\\-]+(#ephemeral)?" maxlength="64"><button class="button" type="submit">Create topic</button></form>` : html``);
    this.renderTable();
    await this.charts.refresh();
  }

  destroy(): void {
    this.charts.destroy();
  }

  private renderTable(): void {
    const overview = this.last;
    if (overview === undefined) return;
    const needle = this.filter.value.trim().toLowerCase();
    const rows = (needle === '' ? overview.topics : overview.topics.filter((row) => row.name.toLowerCase().includes(needle))).slice().sort(compareRows(this.sort));
    setHtml(this.head, html`<tr>${COLUMNS.map((column) => html`<th class="${column.numeric ? 'num' : ''}" data-sort="${column.key}" aria-sort="${column.key === this.sort ? (column.numeric ? 'descending' : 'ascending') : 'none'}">${column.label}</th>`)}</tr>`);
    setHtml(this.summary, html`${rows.length === overview.topics.length ? `${count(rows.length)} topics` : `${count(rows.length)} of ${count(overview.topics.length)} topics`}`);
    setHtml(this.tableBody, rows.length === 0 ? html`<tr><td colspan="7" class="empty">${overview.topics.length === 0 ? (overview.nodes.length === 0 ? 'No nsqd to ask yet: give --nsqd-http-address or --lookupd-http-address.' : 'No topics yet. Publish a message or create one.') : 'No topic matches the filter.'}</td></tr>` : html`${rows.map(topicRow)}`);
  }
}

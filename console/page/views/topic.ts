/** One topic: its totals and charts, its channels, and its figures on each node. */
import { seriesKey, type ChannelRow, type Overview, type TopicDetail } from '../../api-types.ts';
import { ApiError, getTopic } from '../api.ts';
import { COLORS } from '../chart.ts';
import { element, hashFor, html, setHtml } from '../dom.ts';
import { count, rate } from '../format.ts';
import { actionButton, badge, card, ChartPanel, editButtons, notFound, type View } from './common.ts';

function channelRow(topic: string, row: ChannelRow) {
  return html`<tr data-channel="${row.name}">
    <td class="name"><a href="${hashFor.channel(topic, row.name)}">${row.name}</a>${row.paused ? badge('paused', 'paused') : ''}${row.stale ? badge('stale', 'stale') : ''}</td>
    <td class="num strong" data-col="depth">${count(row.depth)}</td>
    <td class="num muted">${count(row.backendDepth)}</td>
    <td class="num" data-col="in-flight">${count(row.inFlight)}</td>
    <td class="num">${count(row.deferred)}</td>
    <td class="num">${count(row.messageCount)}</td>
    <td class="num">${count(row.requeueCount)}</td>
    <td class="num">${count(row.timeoutCount)}</td>
    <td class="num">${rate(row.messageRate)}</td>
    <td class="num">${count(row.clientCount)}</td>
  </tr>`;
}

export class TopicView implements View {
  readonly root = element('div', 'view');
  private readonly header = element('div', 'page-header');
  private readonly cards = element('div', 'cards');
  private readonly body = element('div');
  private readonly charts: ChartPanel;

  constructor(private readonly topic: string) {
    this.charts = new ChartPanel([
      { title: 'Messages published', unit: 'per second', lines: [{ key: seriesKey.topic(topic, 'rate'), label: 'rate', color: COLORS.rate }] },
      { title: 'Depth', unit: 'messages waiting', lines: [
        { key: seriesKey.topic(topic, 'depth'), label: 'topic', color: COLORS.depth },
        { key: seriesKey.topic(topic, 'channel-depth'), label: 'channels', color: COLORS.inFlight },
      ] },
    ]);
    this.root.append(this.header, this.cards, this.charts.root, this.body);
  }

  async refresh(overview: Overview): Promise<void> {
    let detail: TopicDetail;
    try {
      detail = await getTopic(this.topic);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        setHtml(this.header, notFound(`Topic ${this.topic}`));
        this.cards.hidden = this.charts.root.hidden = this.body.hidden = true;
        return;
      }
      throw error;
    }
    this.cards.hidden = this.charts.root.hidden = this.body.hidden = false;
    const { counts } = detail;
    setHtml(this.header, html`
      <nav class="crumbs"><a href="#/">Topics</a><span>/</span></nav>
      <div class="title-row"><h1>${detail.name}</h1>${counts.paused ? badge('paused', 'paused') : ''}
        <div class="actions">${overview.canAct ? editButtons({ topic: detail.name }, counts.paused) : ''}</div></div>`);
    const channelDepth = detail.channels.reduce((sum, row) => sum + row.depth, 0);
    setHtml(this.cards, html`${card('Topic depth', count(counts.depth), `${count(counts.backendDepth)} on disk`)}${card('In channels', count(channelDepth), 'waiting, summed')}${card('Messages', count(counts.messageCount))}${card('Publish rate', rate(counts.messageRate))}${card('Channels', count(detail.channels.length))}`);
    const lookupds = overview.lookupds.length > 0;
    setHtml(this.body, html`
      <div class="section-head"><h2>Channels</h2>${overview.canAct ? html`<form class="inline-form" data-create="channel" data-topic="${detail.name}"><input name="channel" placeholder="new-channel" aria-label="New channel name" required pattern="[.a-zA-Z0-9_\\-]+(#ephemeral)?" maxlength="64"><button class="button" type="submit">Create channel</button></form>` : ''}</div>
      <div class="table-wrap"><table class="data" id="channels">
        <thead><tr><th>Channel</th><th class="num">Depth</th><th class="num">On disk</th><th class="num">In flight</th><th class="num">Deferred</th><th class="num">Messages</th><th class="num">Requeued</th><th class="num">Timed out</th><th class="num">Rate</th><th class="num">Clients</th></tr></thead>
        <tbody>${detail.channels.length === 0 ? html`<tr><td colspan="10" class="empty">No channels: messages wait in the topic until the first one appears.</td></tr>` : detail.channels.map((row) => channelRow(detail.name, row))}</tbody>
      </table></div>
      <h2>Nodes</h2>
      <div class="table-wrap"><table class="data" id="topic-nodes">
        <thead><tr><th>nsqd</th><th class="num">Depth</th><th class="num">On disk</th><th class="num">Messages</th><th class="num">Rate</th><th>State</th>${overview.canAct && lookupds ? html`<th></th>` : ''}</tr></thead>
        <tbody>${detail.nodes.map((node) => html`<tr class="${node.up ? '' : 'row-down'}"><td class="mono">${node.node}</td><td class="num strong">${count(node.counts.depth)}</td><td class="num muted">${count(node.counts.backendDepth)}</td><td class="num">${count(node.counts.messageCount)}</td><td class="num">${rate(node.counts.messageRate)}</td><td>${node.up ? '' : badge('down', 'down')}${node.counts.paused ? badge('paused', 'paused') : ''}</td>${overview.canAct && lookupds ? html`<td class="row-actions">${actionButton({ action: 'tombstone', label: 'Tombstone', topic: detail.name, node: node.node, danger: true })}</td>` : ''}</tr>`)}</tbody>
      </table></div>`);
    await this.charts.refresh();
  }

  destroy(): void {
    this.charts.destroy();
  }
}

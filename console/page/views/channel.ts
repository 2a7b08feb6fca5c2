/** One channel: its totals and charts, its figures on each node, and its clients. */
import { seriesKey, type ChannelDetail, type ClientView, type Overview } from '../../api-types.ts';
import { ApiError, getChannel } from '../api.ts';
import { COLORS } from '../chart.ts';
import { element, hashFor, html, setHtml } from '../dom.ts';
import { count, duration, rate } from '../format.ts';
import { badge, card, ChartPanel, editButtons, notFound, type View } from './common.ts';

/** nsqd's client states (`/stats` `state`), as the wire reference lists them. */
const STATES: Readonly<Record<number, string>> = { 0: 'init', 1: 'disconnected', 2: 'connected', 3: 'subscribed', 4: 'closing' };

function clientRow(client: ClientView, nowSeconds: number) {
  const flags = [client.tls && 'TLS', client.snappy && 'snappy', client.deflate && 'deflate', client.authed && 'auth'].filter((f): f is string => typeof f === 'string');
  return html`<tr>
    <td class="name">${client.clientId}<div class="sub">${client.hostname}</div></td>
    <td class="nowrap"><span class="mono">${client.remoteAddress}</span><div class="sub">on <span class="mono">${client.node}</span></div></td>
    <td class="ua" title="${client.userAgent}">${client.userAgent}</td>
    <td>${STATES[client.state] ?? String(client.state)}</td>
    <td class="num">${count(client.ready)}</td>
    <td class="num">${count(client.inFlight)}</td>
    <td class="num">${count(client.messageCount)}</td>
    <td class="num">${count(client.finishCount)}</td>
    <td class="num">${count(client.requeueCount)}</td>
    <td class="num">${duration(nowSeconds - client.connectedAt)}</td>
    <td>${flags.length === 0 ? html`<span class="muted">plain</span>` : flags.map((flag) => badge(flag, 'info'))}</td>
  </tr>`;
}

export class ChannelView implements View {
  readonly root = element('div', 'view');
  private readonly header = element('div', 'page-header');
  private readonly cards = element('div', 'cards');
  private readonly body = element('div');
  private readonly charts: ChartPanel;

  constructor(private readonly topic: string, private readonly channel: string) {
    this.charts = new ChartPanel([
      { title: 'Messages delivered', unit: 'per second', lines: [{ key: seriesKey.channel(topic, channel, 'rate'), label: 'rate', color: COLORS.rate }] },
      { title: 'Depth and in flight', unit: 'messages', lines: [
        { key: seriesKey.channel(topic, channel, 'depth'), label: 'depth', color: COLORS.depth },
        { key: seriesKey.channel(topic, channel, 'inflight'), label: 'in flight', color: COLORS.inFlight },
      ] },
    ]);
    this.root.append(this.header, this.cards, this.charts.root, this.body);
  }

  async refresh(overview: Overview): Promise<void> {
    let detail: ChannelDetail;
    try {
      detail = await getChannel(this.topic, this.channel);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        setHtml(this.header, notFound(`Channel ${this.topic}/${this.channel}`));
        this.cards.hidden = this.charts.root.hidden = this.body.hidden = true;
        return;
      }
      throw error;
    }
    this.cards.hidden = this.charts.root.hidden = this.body.hidden = false;
    const { counts } = detail;
    setHtml(this.header, html`
      <nav class="crumbs"><a href="#/">Topics</a><span>/</span><a href="${hashFor.topic(detail.topic)}">${detail.topic}</a><span>/</span></nav>
      <div class="title-row"><h1>${detail.name}</h1>${counts.paused ? badge('paused', 'paused') : ''}
        <div class="actions">${overview.canAct ? editButtons({ topic: detail.topic, channel: detail.name }, counts.paused) : ''}</div></div>`);
    setHtml(this.cards, html`${card('Depth', count(counts.depth), `${count(counts.backendDepth)} on disk`)}${card('In flight', count(counts.inFlight))}${card('Deferred', count(counts.deferred))}${card('Requeued', count(counts.requeueCount), rate(counts.requeueRate))}${card('Timed out', count(counts.timeoutCount), rate(counts.timeoutRate))}${card('Delivery rate', rate(counts.messageRate), `${count(counts.messageCount)} in all`)}${card('Clients', count(counts.clientCount))}`);
    const now = overview.polledAt / 1000;
    setHtml(this.body, html`
      <h2>Clients</h2>
      <div class="table-wrap"><table class="data" id="clients">
        <thead><tr><th>Client</th><th>Address</th><th>User agent</th><th>State</th><th class="num">RDY</th><th class="num">In flight</th><th class="num">Messages</th><th class="num">Finished</th><th class="num">Requeued</th><th class="num">Connected</th><th>Transport</th></tr></thead>
        <tbody>${detail.clients.length === 0 ? html`<tr><td colspan="11" class="empty">No consumer is connected.</td></tr>` : detail.clients.map((client) => clientRow(client, now))}</tbody>
      </table></div>
      <h2>Nodes</h2>
      <div class="table-wrap"><table class="data" id="channel-nodes">
        <thead><tr><th>nsqd</th><th class="num">Depth</th><th class="num">In flight</th><th class="num">Deferred</th><th class="num">Requeued</th><th class="num">Timed out</th><th class="num">Rate</th><th>State</th></tr></thead>
        <tbody>${detail.nodes.map((node) => html`<tr class="${node.up ? '' : 'row-down'}"><td class="mono">${node.node}</td><td class="num strong">${count(node.counts.depth)}</td><td class="num">${count(node.counts.inFlight)}</td><td class="num">${count(node.counts.deferred)}</td><td class="num">${count(node.counts.requeueCount)}</td><td class="num">${count(node.counts.timeoutCount)}</td><td class="num">${rate(node.counts.messageRate)}</td><td>${node.up ? '' : badge('down', 'down')}${node.counts.paused ? badge('paused', 'paused') : ''}</td></tr>`)}</tbody>
      </table></div>`);
    await this.charts.refresh();
  }

  destroy(): void {
    this.charts.destroy();
  }
}

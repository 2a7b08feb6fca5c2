/** Every nsqd the console polls, whether it answers, and the lookupds it learns them from. */
import type { NodeView, Overview } from '../../api-types.ts';
import { element, html, setHtml } from '../dom.ts';
import { ago, count, duration, rate } from '../format.ts';
import { badge, type View } from './common.ts';

function nodeRow(node: NodeView, nowMs: number) {
  const status = node.up ? badge('up', 'up') : badge('down', 'down');
  const health = node.health === '' || node.health === 'OK' ? node.health : badge(node.health, 'down');
  return html`<tr data-node="${node.address}" class="${node.up ? '' : 'row-down'}">
    <td class="name"><span class="mono">${node.address}</span>${node.hostname === '' ? '' : html`<div class="sub">${node.hostname}</div>`}</td>
    <td>${status}${node.up ? '' : html`<div class="sub" title="${node.error ?? ''}">${node.error ?? ''} · last answer ${ago(node.lastGoodAt, nowMs)}</div>`}</td>
    <td>${node.version}</td>
    <td>${health}</td>
    <td class="num">${node.startTime === 0 ? '—' : duration(nowMs / 1000 - node.startTime)}</td>
    <td class="num">${count(node.topicCount)}</td>
    <td class="num">${count(node.channelCount)}</td>
    <td class="num">${count(node.clientCount)}</td>
    <td class="num strong">${count(node.depth)}</td>
    <td class="num">${rate(node.messageRate)}</td>
    <td>${node.tombstones.length === 0 ? html`<span class="muted">none</span>` : node.tombstones.map((topic) => badge(topic, 'muted'))}</td>
    <td class="muted">${node.source === 'lookupd' ? 'lookupd' : 'flag'}</td>
  </tr>`;
}

export class NodesView implements View {
  readonly root = element('div', 'view');
  private readonly body = element('div');

  constructor() {
    this.root.append(element('h1', '', html`Nodes`), this.body);
  }

  async refresh(overview: Overview): Promise<void> {
    const now = overview.polledAt;
    setHtml(this.body, html`
      <div class="table-wrap"><table class="data" id="nodes">
        <thead><tr><th>nsqd</th><th>Status</th><th>Version</th><th>Health</th><th class="num">Uptime</th><th class="num">Topics</th><th class="num">Channels</th><th class="num">Clients</th><th class="num">Depth</th><th class="num">Rate</th><th>Tombstoned topics</th><th>Found by</th></tr></thead>
        <tbody>${overview.nodes.length === 0 ? html`<tr><td colspan="12" class="empty">No nsqd known yet.</td></tr>` : overview.nodes.map((node) => nodeRow(node, now))}</tbody>
      </table></div>
      <h2>lookupd</h2>
      ${overview.lookupds.length === 0 ? html`<p class="muted">None given: nodes come from --nsqd-http-address only.</p>` : html`<div class="table-wrap"><table class="data"><thead><tr><th>Address</th><th>Status</th><th>Error</th></tr></thead><tbody>${overview.lookupds.map((l) => html`<tr><td class="mono">${l.address}</td><td>${l.up ? badge('up', 'up') : badge('down', 'down')}</td><td class="muted">${l.error ?? ''}</td></tr>`)}</tbody></table></div>`}`);
  }

  destroy(): void {}
}

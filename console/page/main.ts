/**
 * The console page: a header, the view the URL hash names, and one refresh loop. The loop asks the
 * server for the overview once per poll interval; a view refreshes only when the poll is new.
 */
import './style.css';
import type { Overview } from '../api-types.ts';
import { actionFromButton, runAction, toast } from './actions.ts';
import { getOverview } from './api.ts';
import { element, html, setHtml } from './dom.ts';
import { ago } from './format.ts';
import { ChannelView } from './views/channel.ts';
import type { View } from './views/common.ts';
import { NodesView } from './views/nodes.ts';
import { DeadLettersView } from './views/dead-letters.ts';
import { WorkersView } from './views/workers.ts';
import { TopicView } from './views/topic.ts';
import { TopicsView } from './views/topics.ts';

function viewFor(hash: string): View {
  const parts = hash.replace(/^#\/?/, '').split('/').filter((part) => part !== '').map(decodeURIComponent);
  if (parts[0] === 'nodes') return new NodesView();
  if (parts[0] === 'workers') return new WorkersView();
  if (parts[0] === 'dead-letters' && parts[1] !== undefined) return new DeadLettersView(parts[1]);
  if (parts[0] === 'topic' && parts[1] !== undefined) return parts[2] === undefined ? new TopicView(parts[1]) : new ChannelView(parts[1], parts[2]);
  return new TopicsView();
}

class App {
  private readonly status = element('div', 'status');
  private readonly banner = element('div', 'banner');
  private readonly main = element('main');
  private view: View;
  private overview: Overview | undefined;
  private shownTick = -1;
  private timer: number | undefined;

  constructor(root: HTMLElement) {
    const header = element('header', 'topbar', html`<a class="brand" href="#/"><span class="logo" aria-hidden="true"></span>nsqworker <span>console</span></a>
      <nav class="tabs"><a href="#/" data-tab="topics">Topics</a><a href="#/workers" data-tab="workers">Workers</a><a href="#/nodes" data-tab="nodes">Nodes</a></nav>`);
    header.append(this.status);
    this.banner.hidden = true;
    root.append(header, this.banner, this.main);
    this.view = this.mount();
    window.addEventListener('hashchange', () => {
      this.view.destroy();
      this.view = this.mount();
      this.shownTick = -1;
      void this.tick();
    });
    root.addEventListener('click', (event) => void this.onClick(event));
    root.addEventListener('submit', (event) => void this.onSubmit(event));
    void this.tick();
  }

  private mount(): View {
    const view = viewFor(location.hash);
    this.main.replaceChildren(view.root);
    const tab = location.hash.startsWith('#/nodes') ? 'nodes' : location.hash.startsWith('#/workers') || location.hash.startsWith('#/dead-letters') ? 'workers' : 'topics';
    for (const link of document.querySelectorAll<HTMLElement>('[data-tab]')) link.classList.toggle('active', link.dataset.tab === tab);
    return view;
  }

  private async tick(): Promise<void> {
    window.clearTimeout(this.timer);
    try {
      const overview = await getOverview();
      this.overview = overview;
      this.renderStatus(overview);
      if (overview.tick !== this.shownTick) {
        this.shownTick = overview.tick;
        await this.view.refresh(overview);
        document.body.dataset.tick = String(overview.tick);
      }
    } catch (error) {
      setHtml(this.status, html`<span class="dot dot-down"></span>console not answering`);
      console.error(error);
    }
    this.timer = window.setTimeout(() => void this.tick(), Math.min(this.overview?.intervalMs ?? 2000, 5000));
  }

  private renderStatus(overview: Overview): void {
    const down = overview.nodes.filter((node) => !node.up).length + overview.lookupds.filter((l) => !l.up).length;
    setHtml(this.status, html`${overview.readOnly ? html`<span class="badge badge-muted">read-only</span>` : ''}${overview.user === null ? '' : html`<span class="user">${overview.user}</span>`}<span class="dot ${down > 0 ? 'dot-down' : 'dot-up'}"></span><span>${overview.nodes.length} nsqd${down > 0 ? `, ${down} not answering` : ''}</span>`);
    const downNodes = overview.nodes.filter((node) => !node.up);
    this.banner.hidden = downNodes.length === 0;
    setHtml(this.banner, html`${downNodes.map((node) => html`<div><strong>${node.address}</strong> is not answering (${node.error ?? 'no answer'}); its figures are from ${ago(node.lastGoodAt, overview.polledAt)}.</div>`)}`);
  }

  private async onClick(event: Event): Promise<void> {
    const button = (event.target as HTMLElement).closest<HTMLElement>('[data-action]');
    if (button === null) return;
    const request = actionFromButton(button);
    if (request === undefined) return;
    const wasChannel = request.channel !== undefined;
    if (await runAction(request)) this.afterAction(request.action === 'delete', wasChannel ? `#/topic/${encodeURIComponent(request.topic)}` : '#/');
  }

  private async onSubmit(event: SubmitEvent): Promise<void> {
    const form = (event.target as HTMLElement).closest<HTMLFormElement>('form[data-create]');
    if (form === null) return;
    event.preventDefault();
    const input = form.querySelector('input');
    const name = input?.value.trim() ?? '';
    if (name === '') return;
    const request = form.dataset.create === 'channel' ? { action: 'create' as const, topic: form.dataset.topic ?? '', channel: name } : { action: 'create' as const, topic: name };
    if (await runAction(request)) {
      if (input) input.value = '';
      this.afterAction(false, '');
    }
  }

  /** After an action, show its effect at the next poll; a deleted page goes to its parent. */
  private afterAction(leave: boolean, parent: string): void {
    if (leave && location.hash.includes('/topic/') && parent !== '' && location.hash !== parent) {
      location.hash = parent;
      return;
    }
    this.shownTick = -1;
    void this.tick();
  }
}

window.addEventListener('unhandledrejection', (event) => toast(String((event.reason as Error)?.message ?? event.reason), 'error'));
new App(document.getElementById('app')!);

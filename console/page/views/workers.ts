/**
 * nsqworker workers connected to the cluster, found from the user agents their consumers send: each
 * worker's tasks with their channel's figures, where they run, and their dead letters.
 */
import type { Overview, WorkerTask, WorkerView } from '../../api-types.ts';
import { getWorkers } from '../api.ts';
import { element, hashFor, html, setHtml } from '../dom.ts';
import { count, duration, rate } from '../format.ts';
import { badge, type View } from './common.ts';

function taskRow(worker: WorkerView, task: WorkerTask, first: boolean, nowSeconds: number) {
  const counts = task.counts;
  const oldest = Math.min(...task.instances.map((i) => i.connectedAt));
  return html`<tr data-worker="${worker.topic}/${worker.channel}" data-task="${task.task}" class="${first ? 'group-start' : ''}">
    <td class="name">${first ? html`<a href="${hashFor.topic(worker.topic)}">${worker.topic}</a> / ${worker.channel}` : ''}</td>
    <td><span class="badge badge-info">${task.task}</span>${counts?.paused ? badge('paused', 'paused') : ''}</td>
    <td><a class="mono" href="${hashFor.channel(worker.topic, task.channel)}">${task.channel}</a></td>
    <td class="num">${count(task.instances.length)}</td>
    <td class="num">${counts === null ? '—' : count(counts.depth)}</td>
    <td class="num">${count(task.instances.reduce((sum, i) => sum + i.inFlight, 0))}</td>
    <td class="num">${counts === null ? '—' : rate(counts.messageRate)}</td>
    <td class="num">${counts === null ? '—' : rate(counts.requeueRate)}</td>
    <td class="num">${duration(nowSeconds - oldest)}</td>
    <td>${first ? deadLetterCell(worker) : ''}</td>
  </tr>`;
}

function deadLetterCell(worker: WorkerView) {
  if (worker.deadLetterTopic === null) return html`<span class="muted">none</span>`;
  const waiting = worker.deadLetters ?? 0;
  return html`<a href="${hashFor.deadLetters(worker.deadLetterTopic)}" class="${waiting > 0 ? 'dead-count' : ''}">${count(waiting)} in ${worker.deadLetterTopic}</a>`;
}

export class WorkersView implements View {
  readonly root = element('div', 'view');
  private readonly body = element('div');

  constructor() {
    this.root.append(element('h1', '', html`Workers`), this.body);
  }

  async refresh(overview: Overview): Promise<void> {
    const workers = await getWorkers();
    const now = overview.polledAt / 1000;
    const hosts = [...new Set(workers.flatMap((worker) => worker.hosts))];
    setHtml(this.body, html`
      <p class="lead">Every nsqworker worker connected to the cluster, from the user agent its consumers send to nsqd.
        ${workers.length} worker${workers.length === 1 ? '' : 's'} on ${hosts.length} host${hosts.length === 1 ? '' : 's'}${hosts.length > 0 ? `: ${hosts.join(', ')}` : ''}.</p>
      <div class="table-wrap"><table class="data" id="workers">
        <thead><tr><th>Worker</th><th>Task</th><th>Channel</th><th class="num">Instances</th><th class="num">Waiting</th><th class="num">In flight</th><th class="num">Handled</th><th class="num">Requeued</th><th class="num">Up for</th><th>Dead letters</th></tr></thead>
        <tbody>${workers.length === 0 ? html`<tr><td colspan="10" class="empty">No worker is connected. Start one with <code>nsqworker --topic T --channel C</code>.</td></tr>` : workers.map((worker) => worker.tasks.map((task, i) => taskRow(worker, task, i === 0, now)))}</tbody>
      </table></div>`);
  }

  destroy(): void {}
}

/**
 * nsqworker workers connected to the cluster, found from the user agents their consumers send: each
 * worker's tasks with their channel's figures, where they run, and their dead letters.
 */
import { processOf, type Overview, type WorkerTask, type WorkerView } from '../../api-types.ts';
import { getWorkers } from '../api.ts';
import { element, hashFor, html, setHtml } from '../dom.ts';
import { count, duration, rate } from '../format.ts';
import { badge, type View } from './common.ts';

function taskRow(worker: WorkerView, task: WorkerTask, first: boolean, nowSeconds: number) {
  const counts = task.counts;
  const oldest = Math.min(...task.instances.map((i) => i.connectedAt));
  return html`<tr data-worker="${worker.topic}/${worker.channel}" data-task="${task.task}" class="${first ? 'group-start' : ''}">
    <td class="name">${first ? html`<a href="${hashFor.topic(worker.topic)}">${worker.topic}</a> / ${worker.channel}` : ''}</td>
    <td><span class="badge badge-info">${task.task}</span>${counts?.paused ? badge('paused', 'paused') : ''}<div class="sub"><a class="mono" href="${hashFor.channel(worker.topic, task.channel)}">${task.channel}</a></div></td>
    <td class="num" title="worker processes (each reads the channel from every nsqd that has it)">${count(task.processes)}</td>
    <td class="num">${counts === null ? '—' : count(counts.depth)}</td>
    <td class="num">${count(task.instances.reduce((sum, i) => sum + i.inFlight, 0))}</td>
    <td class="num">${task.handledRate !== null ? rate(task.handledRate) : counts === null ? '—' : rate(counts.messageRate)}</td>
    <td class="num">${task.failedRate !== null ? rate(task.failedRate) : counts === null ? '—' : rate(counts.requeueRate)}</td>
    <td class="num">${rate(task.deadLetteredRate)}</td>
    <td>${states(task)}<div class="sub">up ${duration(nowSeconds - oldest)}</div></td>
    <td>${first ? deadLetterCell(worker) : ''}</td>
  </tr>`;
}

/** A process that serves no /metrics: connected to nsqd, which is all that is known of it. */
const NO_METRICS = 'connected';
const NO_METRICS_TITLE = 'it serves no /metrics, where ready, starting and draining are read: run it with --health-address (nsqworker dev serves none)';
/** A process whose --health-address did not answer the last poll: hung, too busy, or out of the console's reach. */
const NO_ANSWER = 'not answering';
const NO_ANSWER_TITLE = "its /metrics at its --health-address did not answer the last poll: hung, too busy, or out of this console's reach";

/** Each process's state from its /metrics, counted: "2 ready", "1 draining" (one per process, not per connection). */
function states(task: WorkerTask) {
  const counted = new Map<string, number>();
  const seen = new Set<string>();
  for (const instance of task.instances) {
    const key = processOf(instance);
    if (seen.has(key)) continue;
    seen.add(key);
    const state = instance.state ?? (instance.health === null ? NO_METRICS : NO_ANSWER);
    counted.set(state, (counted.get(state) ?? 0) + 1);
  }
  return [...counted].map(([state, n]) => {
    if (state === NO_METRICS) return badge(`${n} ${state}`, 'muted', NO_METRICS_TITLE);
    if (state === NO_ANSWER) return badge(`${n} ${state}`, 'down', NO_ANSWER_TITLE);
    return badge(`${n} ${state}`, state === 'ready' ? 'up' : state === 'draining' ? 'paused' : 'info');
  });
}

function deadLetterCell(worker: WorkerView) {
  if (worker.deadLetterTopic === null) return html`<span class="muted">none</span>`;
  const waiting = worker.deadLetters ?? 0;
  return html`<a href="${hashFor.deadLetters(worker.deadLetterTopic)}" class="${waiting > 0 ? 'dead-count' : ''}">${count(waiting)} waiting</a><div class="sub mono">${worker.deadLetterTopic}</div>`;
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
        <thead><tr><th>Worker</th><th>Task and channel</th><th class="num">Instances</th><th class="num">Waiting</th><th class="num">In flight</th><th class="num" title="finished per second (from the worker's /metrics when it serves one, else the channel's delivery rate)">Handled</th><th class="num" title="requeued per second">Failed</th><th class="num">Dead-lettered</th><th>State</th><th>Dead letters</th></tr></thead>
        <tbody>${workers.length === 0 ? html`<tr><td colspan="10" class="empty">No worker is connected. Start one with <code>nsqworker --topic T --channel C</code>.</td></tr>` : workers.map((worker) => worker.tasks.map((task, i) => taskRow(worker, task, i === 0, now)))}</tbody>
      </table></div>`);
  }

  destroy(): void {}
}

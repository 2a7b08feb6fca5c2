/**
 * A worker's dead letters, read through the console's own channel on the dead-letter topic and held
 * in flight while the page shows them. Replay sends one back to its task; discard drops it.
 */
import type { DeadLettersAnswer, DeadLetterView, Overview } from '../../api-types.ts';
import { getDeadLetters } from '../api.ts';
import { element, hashFor, html, setHtml } from '../dom.ts';
import { count } from '../format.ts';
import { actionButton, type View } from './common.ts';

function row(topic: string, letter: DeadLetterView, canAct: boolean) {
  return html`<tr data-id="${letter.id}">
    <td><span class="badge badge-info">${letter.rejected ? 'every task' : letter.task || '?'}</span><div class="sub">${letter.topic}/${letter.channel}</div></td>
    <td class="error-text">${letter.error}</td>
    <td class="num">${count(letter.attempts)}</td>
    <td class="nowrap">${letter.deadLetteredAt === '' ? '—' : new Date(letter.deadLetteredAt).toLocaleString()}</td>
    <td><code class="preview">${letter.bodyPreview}</code><div class="sub">${count(letter.bodyBytes)} bytes</div></td>
    ${canAct ? html`<td class="row-actions">${actionButton({ action: 'replay', label: 'Replay', topic, id: letter.id })}${actionButton({ action: 'discard', label: 'Discard', topic, id: letter.id, danger: true })}</td>` : ''}
  </tr>`;
}

export class DeadLettersView implements View {
  readonly root = element('div', 'view');
  private readonly body = element('div');

  constructor(private readonly topic: string) {
    this.root.append(element('div', 'page-header', html`<nav class="crumbs"><a href="${hashFor.workers()}">Workers</a><span>/</span></nav><div class="title-row"><h1>Dead letters in ${topic}</h1></div>`), this.body);
  }

  async refresh(overview: Overview): Promise<void> {
    const answer: DeadLettersAnswer = await getDeadLetters(this.topic);
    const canAct = overview.canAct && answer.channel !== null;
    const note =
      answer.channel === null
        ? html`Only the number waiting is shown: reading them would create a channel on the topic, and this console is read-only or you are not an admin user.`
        : html`Read through the channel <code>${answer.channel}</code>; the oldest ${answer.held.length} are held in flight while this page is open.`;
    setHtml(this.body, html`
      <div class="cards"><div class="card"><div class="card-label">Waiting</div><div class="card-value">${answer.waiting === null ? '—' : count(answer.waiting)}</div></div></div>
      <p class="lead">${note}${answer.error === null ? '' : html` <span class="error-text">${answer.error}</span>`}</p>
      ${answer.channel === null ? '' : html`<div class="table-wrap"><table class="data" id="dead-letters">
        <thead><tr><th>Task</th><th>Error</th><th class="num">Attempts</th><th>Dead-lettered</th><th>Body</th>${canAct ? html`<th></th>` : ''}</tr></thead>
        <tbody>${answer.held.length === 0 ? html`<tr><td colspan="6" class="empty">No dead letters held${answer.waiting ? ' yet: they arrive within a poll' : ''}.</td></tr>` : answer.held.map((letter) => row(this.topic, letter, canAct))}</tbody>
      </table></div>`}`);
  }

  destroy(): void {}
}

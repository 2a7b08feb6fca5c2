/**
 * Actions from the page: every one is confirmed in a dialog that says what it will do and where,
 * then POSTed to the console server, which checks the origin and the user again.
 */
import type { ActionRequest } from '../api-types.ts';
import { postAction } from './api.ts';
import { element, html } from './dom.ts';

let dialog: HTMLDialogElement | undefined;

function dialogElement(): HTMLDialogElement {
  if (dialog !== undefined) return dialog;
  dialog = element('dialog', 'confirm');
  document.body.append(dialog);
  return dialog;
}

/** Asks; resolves true only when the user pressed the confirm button. */
export function confirmStep(title: string, body: string, confirmLabel: string, danger: boolean): Promise<boolean> {
  const box = dialogElement();
  box.innerHTML = html`<form method="dialog">
    <h2>${title}</h2>
    <p>${body}</p>
    <div class="dialog-buttons">
      <button value="cancel" class="button">Cancel</button>
      <button value="confirm" class="button ${danger ? 'danger' : 'primary'}" data-confirm>${confirmLabel}</button>
    </div>
  </form>`.value;
  return new Promise((resolve) => {
    box.addEventListener('close', () => resolve(box.returnValue === 'confirm'), { once: true });
    box.showModal();
    box.querySelector<HTMLButtonElement>('[data-confirm]')?.focus();
  });
}

export function toast(message: string, kind: 'ok' | 'error'): void {
  const note = element('div', `toast ${kind}`, html`${message}`);
  note.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  document.body.append(note);
  setTimeout(() => note.remove(), kind === 'error' ? 8000 : 3000);
}

const DANGEROUS = new Set(['empty', 'delete', 'tombstone', 'discard']);

function describe(request: ActionRequest): { title: string; body: string; verb: string } {
  const what = request.channel === undefined ? `topic ${request.topic}` : `channel ${request.topic}/${request.channel}`;
  switch (request.action) {
    case 'create':
      return { title: `Create ${what}?`, body: `It is created on the cluster now.`, verb: 'Create' };
    case 'pause':
      return { title: `Pause ${what}?`, body: 'Messages stay queued and are not delivered until it is unpaused.', verb: 'Pause' };
    case 'unpause':
      return { title: `Unpause ${what}?`, body: 'Delivery starts again.', verb: 'Unpause' };
    case 'empty':
      return { title: `Empty ${what}?`, body: 'Every queued message is dropped, on every node. This cannot be undone.', verb: 'Empty' };
    case 'delete':
      return { title: `Delete ${what}?`, body: 'It is deleted with its queued messages, on every node. This cannot be undone.', verb: 'Delete' };
    case 'tombstone':
      return { title: `Tombstone ${what} on ${request.node}?`, body: 'lookupd stops listing this node for the topic, and the node deletes it.', verb: 'Tombstone' };
    case 'replay':
      return { title: 'Replay this dead letter?', body: 'It is published to its topic again for the failed task only (every task, for one the worker rejected before any ran); the worker\'s other tasks do not run it. It leaves the dead letters once the publish is taken.', verb: 'Replay' };
    case 'discard':
      return { title: 'Discard this dead letter?', body: 'It is removed from the dead-letter topic. This cannot be undone.', verb: 'Discard' };
  }
}

/** Confirms, acts, and tells the outcome; resolves whether it was done. */
export async function runAction(request: ActionRequest): Promise<boolean> {
  const { title, body, verb } = describe(request);
  if (!(await confirmStep(title, body, verb, DANGEROUS.has(request.action)))) return false;
  const result = await postAction(request);
  if (result.ok) toast(`${verb}: done`, 'ok');
  else toast(`${verb} failed: ${result.errors.join('; ')}`, 'error');
  return result.ok;
}

/** The `data-action` buttons of a view, read back into a request. */
export function actionFromButton(button: HTMLElement): ActionRequest | undefined {
  const { action, topic, channel, node, id } = button.dataset;
  if (action === undefined || topic === undefined) return undefined;
  return { action: action as ActionRequest['action'], topic, ...(channel ? { channel } : {}), ...(node ? { node } : {}), ...(id ? { id } : {}) };
}

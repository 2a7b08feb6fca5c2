/** What every view shares: the chart panel with its window switch, badges, cards and buttons. */
import type { Overview } from '../../api-types.ts';
import { getSeries } from '../api.ts';
import { LiveChart, WINDOWS, type ChartSpec, type ChartWindow } from '../chart.ts';
import { element, html, type Safe } from '../dom.ts';

export interface View {
  readonly root: HTMLElement;
  /** Called at every new poll (and once at start) with the overview of that poll. */
  refresh(overview: Overview): Promise<void>;
  destroy(): void;
}

const WINDOW_KEY = 'nsqworker-console-window';

function savedWindow(): ChartWindow {
  const saved = localStorage.getItem(WINDOW_KEY);
  return (WINDOWS as readonly string[]).includes(saved ?? '') ? (saved as ChartWindow) : '5m';
}

export class ChartPanel {
  readonly root: HTMLElement;
  private readonly charts: LiveChart[];
  private window: ChartWindow = savedWindow();

  constructor(specs: ChartSpec[]) {
    this.charts = specs.map((spec) => new LiveChart(spec));
    this.root = element('section', 'chart-panel');
    const bar = element('div', 'window-switch');
    bar.setAttribute('role', 'group');
    bar.setAttribute('aria-label', 'chart window');
    for (const option of WINDOWS) {
      const button = element('button', 'segment', html`${option.replace('m', ' min')}`);
      button.type = 'button';
      button.dataset.window = option;
      button.setAttribute('aria-pressed', String(option === this.window));
      button.addEventListener('click', () => {
        this.window = option;
        localStorage.setItem(WINDOW_KEY, option);
        for (const other of bar.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
        void this.refresh();
      });
      bar.append(button);
    }
    const grid = element('div', 'chart-grid');
    grid.append(...this.charts.map((chart) => chart.root));
    this.root.append(bar, grid);
  }

  async refresh(): Promise<void> {
    const answer = await getSeries(this.charts.flatMap((chart) => chart.keys), this.window);
    for (const chart of this.charts) chart.update(answer);
  }

  destroy(): void {
    for (const chart of this.charts) chart.destroy();
  }
}

/** A badge; `title`, when given, is its tooltip (what the badge means, or what to do about it). */
export function badge(text: string, kind: 'paused' | 'down' | 'up' | 'stale' | 'muted' | 'info', title?: string): Safe {
  return title === undefined ? html`<span class="badge badge-${kind}">${text}</span>` : html`<span class="badge badge-${kind}" title="${title}">${text}</span>`;
}

export function card(label: string, value: string, hint?: string): Safe {
  return html`<div class="card"><div class="card-label">${label}</div><div class="card-value">${value}</div>${hint === undefined ? '' : html`<div class="card-hint">${hint}</div>`}</div>`;
}

export interface ActionButton {
  action: 'pause' | 'unpause' | 'empty' | 'delete' | 'tombstone' | 'create' | 'replay' | 'discard';
  label: string;
  topic: string;
  channel?: string;
  node?: string;
  id?: string;
  danger?: boolean;
}

export function actionButton(button: ActionButton): Safe {
  return html`<button type="button" class="button ${button.danger ? 'danger-outline' : ''}" data-action="${button.action}" data-topic="${button.topic}" data-channel="${button.channel ?? ''}" data-node="${button.node ?? ''}" data-id="${button.id ?? ''}">${button.label}</button>`;
}

/** Pause or unpause, empty and delete, for a topic or a channel. */
export function editButtons(target: { topic: string; channel?: string }, paused: boolean): Safe {
  return html`${actionButton({ ...target, action: paused ? 'unpause' : 'pause', label: paused ? 'Unpause' : 'Pause' })}${actionButton({ ...target, action: 'empty', label: 'Empty', danger: true })}${actionButton({ ...target, action: 'delete', label: 'Delete', danger: true })}`;
}

export function notFound(what: string): Safe {
  return html`<div class="empty-state"><h2>${what} not found</h2><p>It may have been deleted, or no node reports it yet.</p><p><a href="#/">Back to topics</a></p></div>`;
}

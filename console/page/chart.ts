/**
 * A live line chart on uPlot (about 50 KB, canvas, draws thousands of points in a millisecond):
 * created once per view and fed new data at every poll, never rebuilt, so refreshes stay smooth.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { SeriesAnswer } from '../api-types.ts';
import { element, html } from './dom.ts';
import { compact } from './format.ts';

export interface ChartLine {
  key: string;
  label: string;
  color: string;
}

export interface ChartSpec {
  title: string;
  unit: string;
  lines: ChartLine[];
}

const HEIGHT = 180;

export class LiveChart {
  readonly root: HTMLElement;
  private readonly plotBox: HTMLElement;
  private plot: uPlot | undefined;
  private readonly resize: ResizeObserver;

  constructor(readonly spec: ChartSpec) {
    // The caption names each line by its colour; uPlot's own legend would change the chart's height.
    const keys = spec.lines.length > 1 ? spec.lines.map((line) => html`<span class="chart-key"><i style="background:${line.color}"></i>${line.label}</span>`) : [];
    this.root = element('figure', 'chart', html`<figcaption><span class="chart-title">${spec.title}</span><span class="chart-unit">${spec.unit}</span>${keys}</figcaption><div class="chart-plot"></div>`);
    this.plotBox = this.root.querySelector('.chart-plot')!;
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT }));
    this.resize.observe(this.plotBox);
  }

  get keys(): string[] {
    return this.spec.lines.map((line) => line.key);
  }

  update(answer: SeriesAnswer): void {
    const data: uPlot.AlignedData = [answer.times, ...this.spec.lines.map((line) => answer.values[line.key] ?? answer.times.map(() => null))];
    if (this.plot === undefined) this.plot = this.create(data);
    else this.plot.setData(data);
    // What the chart holds, for people reading the DOM and for the browser tests.
    let points = 0;
    for (const values of data.slice(1)) for (const value of values) if (value !== null && value !== undefined) points += 1;
    this.root.dataset.points = String(points);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
  }

  private width(): number {
    return Math.max(200, this.plotBox.clientWidth);
  }

  private create(data: uPlot.AlignedData): uPlot {
    const axis: uPlot.Axis = { stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 }, ticks: { show: false }, font: '11px ui-sans-serif, system-ui, sans-serif' };
    const options: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      padding: [8, 8, 0, 0],
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { show: false },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.1, min)] } },
      axes: [axis, { ...axis, size: 48, values: (_u, ticks) => ticks.map(compact) }],
      series: [
        {},
        ...this.spec.lines.map((line) => ({
          label: line.label,
          stroke: line.color,
          width: 2,
          fill: `${line.color}14`,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : compact(v)),
        })),
      ],
    };
    return new uPlot(options, data, this.plotBox);
  }
}

export const WINDOWS = ['5m', '30m', '60m'] as const;
export type ChartWindow = (typeof WINDOWS)[number];

export const COLORS = { rate: '#4f46e5', depth: '#0d9488', inFlight: '#d97706', total: '#4f46e5' } as const;

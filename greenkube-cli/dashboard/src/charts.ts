// Charts through Chart.js (canvas, no eval: fine under the server's Content-Security-Policy):
// only the parts used are registered, animations are off, and each chart has a text
// alternative (the tables beside the charts carry the same figures).

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartDataset,
  type TooltipItem,
} from 'chart.js';

import type { Ctx } from './app';
import { h } from './dom';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

Chart.defaults.animation = false;
Chart.defaults.font.family =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif';
Chart.defaults.font.size = 12;
Chart.defaults.color = '#334155';
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.responsive = true;

/** The palette: operational, embodied, total, band, cost, energy. */
export const COLORS = {
  operational: '#15803d',
  embodied: '#a16207',
  total: '#0f172a',
  band: 'rgba(21, 128, 61, 0.14)',
  energy: '#1d4ed8',
  energyBand: 'rgba(29, 78, 216, 0.12)',
  cost: '#7c3aed',
  grid: '#e2e8f0',
};

/** A canvas in a box of `height` pixels, described by `label` for assistive technology. */
export function chartBox(label: string, height: number, testId: string): { box: HTMLElement; canvas: HTMLCanvasElement } {
  const canvas = h('canvas', { role: 'img', 'aria-label': label });
  canvas.textContent = label;
  const box = h('div', { class: 'chart', style: `height:${height}px`, 'data-testid': testId }, canvas);
  return { box, canvas };
}

/** A line chart of series over `labels`; `band` shades between two series. */
export function lineChart(
  ctx: Ctx,
  canvas: HTMLCanvasElement,
  labels: string[],
  datasets: ChartDataset<'line', (number | null)[]>[],
  axisTitle: string,
  tooltip: (item: TooltipItem<'line'>) => string,
): Chart<'line', (number | null)[], string> {
  const chart = new Chart<'line', (number | null)[], string>(canvas, {
    type: 'line',
    data: { labels, datasets },
    options: {
      interaction: { mode: 'index', intersect: false },
      elements: { point: { radius: labels.length > 60 ? 0 : labels.length < 4 ? 5 : 2, hoverRadius: 6 }, line: { tension: 0.25, borderWidth: 2 } },
      scales: {
        // With very few points, they sit in the middle rather than on the edges.
        x: { offset: labels.length < 4, grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
        y: { beginAtZero: true, grid: { color: COLORS.grid }, title: { display: true, text: axisTitle } },
      },
      plugins: {
        legend: {
          position: 'bottom',
          labels: { boxWidth: 14, filter: (item) => !item.text.startsWith('_') },
        },
        tooltip: {
          filter: (item) => !(item.dataset.label ?? '').startsWith('_'),
          callbacks: { label: tooltip },
        },
      },
    },
  });
  ctx.track(chart);
  return chart;
}

/** A horizontal stacked bar chart, one bar per label. */
export function barChart(
  ctx: Ctx,
  canvas: HTMLCanvasElement,
  labels: string[],
  datasets: ChartDataset<'bar', number[]>[],
  axisTitle: string,
  tooltip: (item: TooltipItem<'bar'>) => string,
): Chart<'bar', number[], string> {
  const chart = new Chart<'bar', number[], string>(canvas, {
    type: 'bar',
    data: { labels, datasets },
    options: {
      indexAxis: 'y',
      interaction: { mode: 'index', intersect: false, axis: 'y' },
      scales: {
        x: { stacked: true, beginAtZero: true, grid: { color: COLORS.grid }, title: { display: true, text: axisTitle } },
        y: { stacked: true, grid: { display: false } },
      },
      plugins: {
        legend: { display: datasets.length > 1, position: 'bottom', labels: { boxWidth: 14 } },
        tooltip: { callbacks: { label: tooltip } },
      },
    },
  });
  ctx.track(chart);
  return chart;
}

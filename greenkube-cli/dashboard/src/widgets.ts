// Pieces several pages show: figures with their intervals, KPI tiles, tables, the time series
// chart with its metric switch, the namespace and pod tables, and the three states of a section.

import { ApiError, get, messageOf, type Coverage, type NamespaceRow, type PodRow, type Point, type Summary } from './api';
import { longerRange, withRange, type Ctx, type Disposable, type Range } from './app';
import { barChart, chartBox, COLORS, lineChart } from './charts';
import { code, emptyBox, errorBox, h, loading, replace, type Child } from './dom';
import {
  bucketLabel,
  count,
  dateTime,
  energy,
  energyUnit,
  fixed,
  mass,
  massUnit,
  money,
  percent,
  type Interval,
} from './format';

/** A formatted figure "12.3 kg (9.8–15.1)" as a figure and its interval, styled apart. */
export function figure(text: string, testId?: string): HTMLElement {
  const at = text.indexOf(' (');
  const attrs = { class: 'figure', 'data-testid': testId ?? null };
  if (at < 0) return h('span', attrs, h('span', { class: 'figure-main' }, text));
  return h(
    'span',
    attrs,
    h('span', { class: 'figure-main' }, text.slice(0, at)),
    ' ',
    h('span', { class: 'figure-interval', title: 'low–high estimate' }, text.slice(at + 1)),
  );
}

/** A KPI tile: label, figure, and a line under it. */
export function kpi(label: string, value: HTMLElement, note: Child, testId: string, tone = ''): HTMLElement {
  return h(
    'div',
    { class: `kpi ${tone}`, 'data-testid': testId },
    h('div', { class: 'kpi-label' }, label),
    h('div', { class: 'kpi-value' }, value),
    note ? h('div', { class: 'kpi-note' }, note) : null,
  );
}

/** A column of a table. */
export interface Column<T> {
  label: string;
  numeric?: boolean;
  cell: (row: T) => Child;
}

/** A table with a caption (read by screen readers, shown when `showCaption`). */
export function table<T>(caption: string, columns: Column<T>[], rows: T[], testId: string, rowId?: (row: T) => string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { 'data-testid': testId },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : null }, c.label)))),
      h(
        'tbody',
        null,
        rows.map((row) =>
          h(
            'tr',
            { 'data-row': rowId ? rowId(row) : null },
            columns.map((c, i) =>
              i === 0
                ? h('th', { scope: 'row', class: c.numeric ? 'num' : null }, c.cell(row))
                : h('td', { class: c.numeric ? 'num' : null }, c.cell(row)),
            ),
          ),
        ),
      ),
    ),
  );
}

/** Fills `slot` with what `load` gets, or the error with a retry button. */
export function section<T>(
  ctx: Ctx,
  slot: HTMLElement,
  load: () => Promise<T>,
  render: (data: T) => Child,
  what = 'Loading',
): void {
  const run = (): void => {
    slot.setAttribute('aria-busy', 'true');
    replace(slot, loading(what));
    load().then(
      (data) => {
        if (!ctx.alive()) return;
        slot.removeAttribute('aria-busy');
        replace(slot, render(data));
      },
      (error: unknown) => {
        if (!ctx.alive()) return;
        slot.removeAttribute('aria-busy');
        const keyNeeded = error instanceof ApiError && error.status === 401;
        replace(slot, errorBox(messageOf(error), run, keyNeeded ? h('a', { class: 'button button-primary', href: '/settings' }, 'Enter the API key') : null));
      },
    );
  };
  run();
}

/** "No data in this range": what to run, or which longer range to pick. */
export function noData(ctx: Ctx, path: string, range: Range, what = 'No data'): HTMLElement {
  const longer = longerRange(range);
  return emptyBox(
    h('p', null, h('strong', null, `${what} in ${range.label}.`)),
    h(
      'p',
      null,
      'Run ',
      code('greenkube collect'),
      ' to record the cluster (or ',
      code('greenkube demo'),
      ' to try the dashboard on a demo cluster)',
      longer && longer !== range
        ? [', or pick a longer range: ', h('a', { href: withRange(path, longer, keepQuery(ctx)) }, longer.label), '.']
        : '.',
    ),
  );
}

function keepQuery(ctx: Ctx): Record<string, string> {
  const keep: Record<string, string> = {};
  ctx.query.forEach((value, key) => {
    if (key !== 'last') keep[key] = value;
  });
  return keep;
}

/** "From N pod-windows; M used fallback estimates." (and the exact range, when given). */
export function coverageNote(coverage: Coverage, span?: { start: string; end: string }): HTMLElement {
  const parts: Child[] = [
    span ? `${dateTime(span.start)} to ${dateTime(span.end)}. ` : '',
    `From ${count(coverage.rows)} pod measurements`,
    coverage.estimated_rows > 0
      ? `; ${count(coverage.estimated_rows)} (${percent(coverage.estimated_rows, coverage.rows)}) used fallback estimates`
      : '',
    coverage.rows_without_cost > 0 ? `; ${count(coverage.rows_without_cost)} have no cost data (not counted in the cost)` : '',
    '. Figures in brackets are the low and high estimates.',
  ];
  return h('p', { class: 'note' }, parts);
}

/** The KPI tiles of a summary. */
export function summaryTiles(summary: Summary): HTMLElement {
  const u = summary.uncertainty;
  return h(
    'div',
    { class: 'kpis' },
    kpi(
      'Total CO2e',
      figure(mass(summary.total_co2e_all_scopes, u.total_co2e_all_scopes), 'total-co2e'),
      'operational + embodied',
      'kpi-total',
      'kpi-main',
    ),
    kpi(
      'Operational CO2e',
      figure(mass(summary.total_co2e_grams, u.co2e_grams), 'operational-co2e'),
      'Scope 2: electricity used',
      'kpi-operational',
    ),
    kpi(
      'Embodied CO2e',
      figure(mass(summary.total_embodied_co2e_grams, u.embodied_co2e_grams), 'embodied-co2e'),
      'Scope 3: making the hardware',
      'kpi-embodied',
    ),
    kpi('Energy', figure(energy(summary.total_energy_joules, u.energy_joules), 'energy'), 'including data-centre overhead (PUE)', 'kpi-energy'),
    kpi('Cost', figure(money(summary.total_cost), 'cost'), 'as reported by the cost source', 'kpi-cost'),
    kpi(
      'Workloads',
      figure(`${count(summary.pod_count)} pods`, 'pods'),
      `in ${count(summary.namespace_count)} namespace${summary.namespace_count === 1 ? '' : 's'}`,
      'kpi-pods',
    ),
  );
}

/** One sentence a manager reads first. */
export function headline(summary: Summary, range: Range, subject: string): HTMLElement {
  return h(
    'p',
    { class: 'headline', 'data-testid': 'headline' },
    `Over ${range.label}, ${subject} emitted `,
    h('strong', null, `${mass(summary.total_co2e_all_scopes).replace(/ \(.*/, '')} CO2e`),
    ` (${mass(summary.total_co2e_grams)} from electricity, ${mass(summary.total_embodied_co2e_grams)} embodied in the hardware), used `,
    h('strong', null, energy(summary.total_energy_joules)),
    ' and cost ',
    h('strong', null, money(summary.total_cost)),
    '.',
  );
}

type Metric = 'co2e' | 'energy' | 'cost';

/** The time series card: CO2e (with its band), energy (with its band) or cost. */
export function timeseriesCard(ctx: Ctx, query: { namespace?: string }, path: string): HTMLElement {
  const slot = h('div', { class: 'slot' });
  const range = ctx.range;
  let metric: Metric = 'co2e';
  const buttons = (['co2e', 'energy', 'cost'] as Metric[]).map((m) =>
    h(
      'button',
      { type: 'button', class: 'toggle', 'aria-pressed': m === metric ? 'true' : 'false', 'data-metric': m },
      m === 'co2e' ? 'CO2e' : m === 'energy' ? 'Energy' : 'Cost',
    ),
  );
  const card = h(
    'section',
    { class: 'card card-wide', 'aria-labelledby': 'card-timeseries' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: 'card-timeseries' }, 'Over time'),
      h('div', { class: 'toggles', role: 'group', 'aria-label': 'Figure shown' }, buttons),
    ),
    slot,
  );
  section(
    ctx,
    slot,
    () => get<Point[]>('/metrics/timeseries', { last: range.slug, granularity: range.granularity, namespace: query.namespace }),
    (points) => {
      if (points.length === 0) {
        for (const b of buttons) b.disabled = true;
        return noData(ctx, path, range);
      }
      const area = h('div');
      let shown: Disposable | null = null;
      const draw = (): void => {
        shown?.destroy();
        const { element, chart } = renderSeries(ctx, points, range, metric);
        shown = chart;
        replace(area, element);
      };
      for (const b of buttons) {
        b.addEventListener('click', () => {
          metric = b.dataset.metric as Metric;
          for (const other of buttons) other.setAttribute('aria-pressed', other === b ? 'true' : 'false');
          draw();
        });
      }
      draw();
      return area;
    },
    'Loading the time series',
  );
  return card;
}

function renderSeries(ctx: Ctx, points: Point[], range: Range, metric: Metric): { element: HTMLElement; chart: Disposable } {
  const labels = points.map((p) => bucketLabel(p.timestamp, range.granularity));
  const per = range.granularity === 'hour' ? 'hour' : range.granularity;
  const wrap = h('div');
  let chart: Disposable;
  if (metric === 'co2e') {
    const max = Math.max(...points.map((p) => p.uncertainty.total_co2e_all_scopes[1]));
    const unit = massUnit(max);
    const scale = (v: number): number => v / unit.factor;
    const { box, canvas } = chartBox(`CO2e per ${per} over ${range.label}, in ${unit.unit}`, 300, 'chart-timeseries');
    wrap.append(box);
    chart = lineChart(
      ctx,
      canvas,
      labels,
      [
        { label: '_low', data: points.map((p) => scale(p.uncertainty.total_co2e_all_scopes[0])), borderWidth: 0, pointRadius: 0, borderColor: 'transparent', fill: false },
        { label: 'Total: low–high estimate', data: points.map((p) => scale(p.uncertainty.total_co2e_all_scopes[1])), borderWidth: 0, pointRadius: 0, borderColor: 'transparent', backgroundColor: COLORS.band, fill: '-1' },
        { label: 'Total CO2e', data: points.map((p) => scale(p.total_co2e_all_scopes)), borderColor: COLORS.total, backgroundColor: COLORS.total },
        { label: 'Operational (electricity)', data: points.map((p) => scale(p.co2e_grams)), borderColor: COLORS.operational, backgroundColor: COLORS.operational },
        { label: 'Embodied (hardware)', data: points.map((p) => scale(p.embodied_co2e_grams)), borderColor: COLORS.embodied, backgroundColor: COLORS.embodied, borderDash: [5, 4] },
      ],
      `${unit.unit} CO2e per ${per}`,
      (item) => {
        const p = points[item.dataIndex];
        if (item.datasetIndex === 1) return `Total range: ${mass(p.uncertainty.total_co2e_all_scopes[0])}–${mass(p.uncertainty.total_co2e_all_scopes[1])}`;
        if (item.datasetIndex === 2) return `Total: ${mass(p.total_co2e_all_scopes, p.uncertainty.total_co2e_all_scopes)}`;
        if (item.datasetIndex === 3) return `Operational: ${mass(p.co2e_grams, p.uncertainty.co2e_grams)}`;
        return `Embodied: ${mass(p.embodied_co2e_grams, p.uncertainty.embodied_co2e_grams)}`;
      },
    );
  } else if (metric === 'energy') {
    const max = Math.max(...points.map((p) => p.uncertainty.energy_joules[1]));
    const unit = energyUnit(max);
    const scale = (v: number): number => v / unit.factor;
    const { box, canvas } = chartBox(`Energy per ${per} over ${range.label}, in ${unit.unit}`, 300, 'chart-timeseries');
    wrap.append(box);
    chart = lineChart(
      ctx,
      canvas,
      labels,
      [
        { label: '_low', data: points.map((p) => scale(p.uncertainty.energy_joules[0])), borderWidth: 0, pointRadius: 0, borderColor: 'transparent', fill: false },
        { label: 'Low–high estimate', data: points.map((p) => scale(p.uncertainty.energy_joules[1])), borderWidth: 0, pointRadius: 0, borderColor: 'transparent', backgroundColor: COLORS.energyBand, fill: '-1' },
        { label: 'Energy', data: points.map((p) => scale(p.joules)), borderColor: COLORS.energy, backgroundColor: COLORS.energy },
      ],
      `${unit.unit} per ${per}`,
      (item) => {
        const p = points[item.dataIndex];
        if (item.datasetIndex === 1) return `Range: ${energy(p.uncertainty.energy_joules[0])}–${energy(p.uncertainty.energy_joules[1])}`;
        return `Energy: ${energy(p.joules, p.uncertainty.energy_joules)}`;
      },
    );
  } else {
    const { box, canvas } = chartBox(`Cost per ${per} over ${range.label}, in dollars`, 300, 'chart-timeseries');
    wrap.append(box);
    chart = lineChart(
      ctx,
      canvas,
      labels,
      [{ label: 'Cost', data: points.map((p) => p.total_cost), borderColor: COLORS.cost, backgroundColor: COLORS.cost }],
      `$ per ${per}`,
      (item) => `Cost: ${money(points[item.dataIndex].total_cost)}`,
    );
  }
  wrap.append(
    h(
      'p',
      { class: 'note' },
      `Times in UTC, one point per ${per}.`,
      points.length < 3 ? ` Only ${points.length} point${points.length === 1 ? '' : 's'} in ${range.label}: pick a longer range to see a trend.` : '',
      metric === 'cost' ? ' Costs are reported by the cost source: they have no interval.' : ' The shaded band is the low–high estimate.',
    ),
  );
  return { element: wrap, chart };
}

/** Operational + embodied of a namespace or pod row. */
export function totalOf(row: NamespaceRow): number {
  return row.co2e_grams + row.embodied_co2e_grams;
}

/** The namespace chart (stacked operational and embodied) and table. */
export function namespacesView(ctx: Ctx, rows: NamespaceRow[], limit = 0): HTMLElement {
  // The API ranks by operational CO2e; the chart and table show the total.
  const sorted = [...rows].sort((a, b) => totalOf(b) - totalOf(a));
  const shown = limit > 0 ? sorted.slice(0, limit) : sorted;
  const max = Math.max(...shown.map(totalOf));
  const unit = massUnit(max);
  const { box, canvas } = chartBox(
    `CO2e by namespace, in ${unit.unit}: ${shown.map((r) => `${r.namespace} ${mass(totalOf(r))}`).join(', ')}`,
    Math.max(160, 30 * shown.length + 70),
    'chart-namespaces',
  );
  barChart(
    ctx,
    canvas,
    shown.map((r) => r.namespace),
    [
      { label: 'Operational (electricity)', data: shown.map((r) => r.co2e_grams / unit.factor), backgroundColor: COLORS.operational },
      { label: 'Embodied (hardware)', data: shown.map((r) => r.embodied_co2e_grams / unit.factor), backgroundColor: COLORS.embodied },
    ],
    `${unit.unit} CO2e`,
    (item) => {
      const r = shown[item.dataIndex];
      return item.datasetIndex === 0
        ? `Operational: ${mass(r.co2e_grams, r.uncertainty.co2e_grams)}`
        : `Embodied: ${mass(r.embodied_co2e_grams, r.uncertainty.embodied_co2e_grams)}`;
    },
  );
  return h(
    'div',
    { class: 'split' },
    box,
    table(
      'CO2e, energy and cost by namespace',
      [
        { label: 'Namespace', cell: (r) => h('a', { href: withRange(`/namespaces/${encodeURIComponent(r.namespace)}`, ctx.range) }, r.namespace) },
        { label: 'Total CO2e', numeric: true, cell: (r) => figure(mass(totalOf(r), r.uncertainty.total_co2e_all_scopes)) },
        { label: 'Energy', numeric: true, cell: (r) => figure(energy(r.energy_joules, r.uncertainty.energy_joules)) },
        { label: 'Cost', numeric: true, cell: (r) => money(r.total_cost) },
      ],
      shown,
      'table-namespaces',
      (r) => r.namespace,
    ),
  );
}

/** The top pods table, in the API's order (operational CO2e, most first). */
export function podsTable(ctx: Ctx, rows: PodRow[], withNamespace = true): HTMLElement {
  const columns = [
    { label: 'Pod', cell: (r: PodRow) => h('span', { class: 'mono' }, r.pod_name) },
    ...(withNamespace
      ? [{ label: 'Namespace', cell: (r: PodRow) => h('a', { href: withRange(`/namespaces/${encodeURIComponent(r.namespace)}`, ctx.range) }, r.namespace) }]
      : []),
    { label: 'Operational CO2e', numeric: true, cell: (r: PodRow) => figure(mass(r.co2e_grams, r.uncertainty.co2e_grams)) },
    { label: 'With embodied', numeric: true, cell: (r: PodRow) => figure(mass(totalOf(r), r.uncertainty.total_co2e_all_scopes)) },
    { label: 'Energy', numeric: true, cell: (r: PodRow) => figure(energy(r.energy_joules, r.uncertainty.energy_joules)) },
    { label: 'Cost', numeric: true, cell: (r: PodRow) => money(r.total_cost) },
  ];
  return table('Pods with the most operational CO2e', columns, rows, 'table-pods', (r) => `${r.namespace}/${r.pod_name}`);
}

/** A share of a whole, as a bar and its text. */
export function bar(value: number, max: number, label: string): HTMLElement {
  const width = max > 0 ? Math.max(0, Math.min(100, (100 * value) / max)) : 0;
  return h(
    'span',
    { class: 'bar', role: 'img', 'aria-label': label },
    h('span', { class: 'bar-fill', style: `width:${fixed(width, 1)}%` }),
  );
}

/** Interval arithmetic for sums of independent figures shown together (bounds added). */
export function sumIntervals(items: Interval[]): Interval {
  return items.reduce<Interval>((acc, [low, high]) => [acc[0] + low, acc[1] + high], [0, 0]);
}

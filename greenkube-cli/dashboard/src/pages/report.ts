// Report: pick a range (last …, dates, or calendar years), a namespace, the rows (every stored
// row, or totals per period grouped by namespace or pod), preview the totals, download CSV or
// JSON through /api/v1/report/export.

import { apiKey, apiUrl, get, messageOf, type Query, type ReportSummary, type Summary } from '../api';
import { RANGES, pageHeader, type Ctx } from '../app';
import { card, emptyBox, errorBox, h, loading, replace } from '../dom';
import { count, energy, mass, money } from '../format';
import { coverageNote, figure, kpi } from '../widgets';

const GRANULARITIES: [string, string][] = [
  ['', 'Every stored row (one per pod and window)'],
  ['hourly', 'Totals per hour'],
  ['daily', 'Totals per day'],
  ['weekly', 'Totals per week'],
  ['monthly', 'Totals per month'],
  ['yearly', 'Totals per year'],
];

const RAW_COLUMNS =
  'cluster, namespace, pod_name, timestamp, duration_seconds, owner_kind, owner_name, node, node_instance_type, provider, region, emaps_zone, cpu_request, cpu_usage_millicores, memory_request, memory_usage_bytes, restart_count, joules (+ _low, _high), co2e_grams (+ _low, _high), embodied_co2e_grams (+ _low, _high), total_co2e_grams, total_cost, pue, grid_intensity, is_estimated, calculation_version';
const GROUP_COLUMNS =
  'period, namespace, pod_name, rows, estimated_rows, rows_without_cost, joules (+ _low, _high), co2e_grams (+ _low, _high), embodied_co2e_grams (+ _low, _high), total_co2e_grams, total_cost';

interface Form {
  mode: 'last' | 'dates' | 'years';
  last: string;
  start: string;
  end: string;
  years: number[];
  namespace: string;
  granularity: string;
  groupBy: string;
}

function params(form: Form): Query {
  const query: Query = { namespace: form.namespace || null };
  if (form.mode === 'last') query.last = form.last;
  else if (form.mode === 'dates') {
    query.start = form.start;
    query.end = form.end;
  } else query.years = form.years;
  if (form.granularity) {
    query.aggregate = 'true';
    query.granularity = form.granularity;
    query.group_by = form.groupBy;
  }
  return query;
}

function problem(form: Form): string | null {
  if (form.mode === 'dates') {
    if (!form.start || !form.end) return 'Pick a start and an end date.';
    if (form.start > form.end) return 'The start date is after the end date.';
  }
  if (form.mode === 'years' && form.years.length === 0) return 'Pick at least one year.';
  return null;
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

/** `/report`. */
export function report(ctx: Ctx): void {
  const q = ctx.query;
  const form: Form = {
    mode: (['last', 'dates', 'years'].includes(q.get('mode') ?? '') ? q.get('mode') : 'last') as Form['mode'],
    last: RANGES.some((r) => r.slug === q.get('last')) ? (q.get('last') as string) : '7d',
    start: q.get('start') ?? '',
    end: q.get('end') ?? '',
    years: q.getAll('years').map(Number).filter(Number.isInteger),
    namespace: q.get('namespace') ?? '',
    granularity: GRANULARITIES.some(([g]) => g === q.get('granularity')) ? (q.get('granularity') as string) : '',
    groupBy: q.get('group_by') === 'pod' ? 'pod' : 'namespace',
  };

  const formSlot = h('div', { class: 'slot' }, loading('Loading the choices'));
  const preview = h('div', { class: 'slot', 'aria-live': 'polite', 'data-testid': 'report-preview' });
  const downloads = h('div', { class: 'downloads' });
  const columns = h('p', { class: 'note' });
  ctx.main.append(
    pageHeader('Report', 'Totals of any range, and the rows behind them as a CSV or JSON file.'),
    h('div', { class: 'grid-report' }, card('What to report', null, formSlot), card('Preview', null, preview, downloads, columns)),
  );

  let sequence = 0;
  let timer: number | undefined;

  const update = (): void => {
    // Busy at once, so that the old figures are not taken for the new choice's.
    preview.setAttribute('aria-busy', 'true');
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 150);
  };

  const refresh = (): void => {
    const search = new URLSearchParams();
    search.set('mode', form.mode);
    if (form.mode === 'last') search.set('last', form.last);
    if (form.mode === 'dates') {
      search.set('start', form.start);
      search.set('end', form.end);
    }
    if (form.mode === 'years') for (const y of form.years) search.append('years', String(y));
    if (form.namespace) search.set('namespace', form.namespace);
    if (form.granularity) {
      search.set('granularity', form.granularity);
      search.set('group_by', form.groupBy);
    }
    history.replaceState(null, '', `/report?${search.toString()}`);
    replace(columns, h('strong', null, 'Columns: '), form.granularity ? GROUP_COLUMNS : RAW_COLUMNS, '.');
    const wrong = problem(form);
    if (wrong) {
      preview.removeAttribute('aria-busy');
      replace(preview, emptyBox(h('p', null, wrong)));
      replace(downloads);
      return;
    }
    const query = params(form);
    const mine = ++sequence;
    preview.setAttribute('aria-busy', 'true');
    replace(preview, loading('Computing the totals'));
    replace(downloads);
    get<ReportSummary>('/report/summary', query).then(
      (summary) => {
        if (mine !== sequence || !ctx.alive()) return;
        preview.removeAttribute('aria-busy');
        replace(preview, previewView(summary));
        replace(downloads, summary.coverage.rows === 0 ? null : [downloadLink(query, 'csv'), downloadLink(query, 'json')]);
      },
      (error: unknown) => {
        if (mine !== sequence || !ctx.alive()) return;
        preview.removeAttribute('aria-busy');
        replace(preview, errorBox(messageOf(error), refresh));
        replace(downloads);
      },
    );
  };

  const build = (namespaces: string[], years: number[], bounds: { start: string; end: string }): HTMLElement => {
    form.start ||= bounds.start;
    form.end ||= bounds.end;
    if (form.years.length === 0 && years.length > 0) form.years = [years[0]];
    const modeRadio = (mode: Form['mode'], label: string): HTMLElement =>
      h(
        'label',
        { class: 'radio' },
        h('input', {
          type: 'radio',
          name: 'mode',
          value: mode,
          checked: form.mode === mode,
          'data-testid': `mode-${mode}`,
          onchange: () => {
            form.mode = mode;
            syncDisabled();
            update();
          },
        }),
        ` ${label}`,
      );
    const lastSelect = h(
      'select',
      { id: 'report-last', 'aria-label': 'Range ending now', onchange: (e) => ((form.last = (e.target as HTMLSelectElement).value), update()) },
      RANGES.map((r) => h('option', { value: r.slug, selected: r.slug === form.last }, r.label.replace(/^the /, '').replace(/^./, (c) => c.toUpperCase()))),
    );
    const start = h('input', { id: 'report-start', type: 'date', value: form.start, 'aria-label': 'Start date', onchange: (e) => ((form.start = (e.target as HTMLInputElement).value), update()) });
    const end = h('input', { id: 'report-end', type: 'date', value: form.end, 'aria-label': 'End date (included)', onchange: (e) => ((form.end = (e.target as HTMLInputElement).value), update()) });
    const yearBoxes = years.map((y) =>
      h(
        'label',
        { class: 'check' },
        h('input', {
          type: 'checkbox',
          value: y,
          checked: form.years.includes(y),
          onchange: (e) => {
            const on = (e.target as HTMLInputElement).checked;
            form.years = on ? [...form.years, y].sort() : form.years.filter((x) => x !== y);
            update();
          },
        }),
        ` ${y}`,
      ),
    );
    const nsSelect = h(
      'select',
      { id: 'report-namespace', onchange: (e) => ((form.namespace = (e.target as HTMLSelectElement).value), update()) },
      h('option', { value: '' }, 'All namespaces'),
      namespaces.map((n) => h('option', { value: n, selected: n === form.namespace }, n)),
    );
    const granularity = h(
      'select',
      {
        id: 'report-granularity',
        'data-testid': 'report-granularity',
        onchange: (e) => {
          form.granularity = (e.target as HTMLSelectElement).value;
          syncDisabled();
          update();
        },
      },
      GRANULARITIES.map(([g, label]) => h('option', { value: g, selected: g === form.granularity }, label)),
    );
    const groupBy = h(
      'select',
      { id: 'report-group', 'data-testid': 'report-group', onchange: (e) => ((form.groupBy = (e.target as HTMLSelectElement).value), update()) },
      h('option', { value: 'namespace', selected: form.groupBy === 'namespace' }, 'Namespace'),
      h('option', { value: 'pod', selected: form.groupBy === 'pod' }, 'Pod'),
    );
    const syncDisabled = (): void => {
      lastSelect.disabled = form.mode !== 'last';
      start.disabled = end.disabled = form.mode !== 'dates';
      for (const box of yearBoxes) (box.querySelector('input') as HTMLInputElement).disabled = form.mode !== 'years';
      groupBy.disabled = !form.granularity;
    };
    syncDisabled();
    return h(
      'form',
      { class: 'report-form', onsubmit: (e) => e.preventDefault() },
      h(
        'fieldset',
        null,
        h('legend', null, 'Range'),
        h('div', { class: 'mode' }, modeRadio('last', 'Ending now:'), lastSelect),
        h('div', { class: 'mode' }, modeRadio('dates', 'From'), start, h('span', null, ' to '), end),
        h(
          'div',
          { class: 'mode' },
          modeRadio('years', 'Calendar years:'),
          yearBoxes.length ? yearBoxes : h('span', { class: 'note' }, 'no year has data'),
        ),
      ),
      h('div', { class: 'field' }, h('label', { for: 'report-namespace' }, 'Namespace'), nsSelect),
      h('div', { class: 'field' }, h('label', { for: 'report-granularity' }, 'Rows'), granularity),
      h('div', { class: 'field' }, h('label', { for: 'report-group' }, 'Grouped by (for totals)'), groupBy),
    );
  };

  const start = (): void => {
    replace(formSlot, loading('Loading the choices'));
    Promise.all([get<string[]>('/namespaces'), get<number[]>('/report/years'), get<Summary>('/metrics/summary', { last: '7d' })]).then(
      ([namespaces, years, recent]) => {
        if (!ctx.alive()) return;
        const end = new Date(recent.end);
        end.setUTCSeconds(end.getUTCSeconds() - 1);
        replace(formSlot, build(namespaces, years, { start: day(recent.start), end: day(end.toISOString()) }));
        refresh();
      },
      (error: unknown) => {
        if (!ctx.alive()) return;
        replace(formSlot, errorBox(messageOf(error), start));
      },
    );
  };
  start();
}

function previewView(summary: ReportSummary): HTMLElement {
  if (summary.coverage.rows === 0) {
    return emptyBox(
      h('p', null, h('strong', null, 'No data in this range.')),
      h('p', null, 'Pick a longer range or other dates, or run greenkube collect to record the cluster.'),
    );
  }
  const u = summary.uncertainty;
  return h(
    'div',
    null,
    h(
      'div',
      { class: 'kpis kpis-compact' },
      kpi('Total CO2e', figure(mass(summary.total_co2e_all_scopes, u.total_co2e_all_scopes), 'report-total'), 'operational + embodied', 'report-kpi-total', 'kpi-main'),
      kpi('Operational CO2e', figure(mass(summary.total_co2e_grams, u.co2e_grams)), 'Scope 2', 'report-kpi-operational'),
      kpi('Embodied CO2e', figure(mass(summary.total_embodied_co2e_grams, u.embodied_co2e_grams)), 'Scope 3', 'report-kpi-embodied'),
      kpi('Energy', figure(energy(summary.total_energy_joules, u.energy_joules)), null, 'report-kpi-energy'),
      kpi('Cost', figure(money(summary.total_cost)), null, 'report-kpi-cost'),
      kpi(
        'Rows in the file',
        figure(count(summary.total_rows), 'report-rows'),
        `${count(summary.unique_pods)} pods, ${count(summary.unique_namespaces)} namespaces`,
        'report-kpi-rows',
      ),
    ),
    coverageNote(summary.coverage),
  );
}

function downloadLink(query: Query, format: 'csv' | 'json'): HTMLElement {
  const url = apiUrl('/report/export', { ...query, format });
  const link = h(
    'a',
    { class: 'button button-primary', href: url, download: '', 'data-testid': `download-${format}` },
    `Download ${format.toUpperCase()}`,
  );
  // With an API key, the file is fetched with the key and handed over as a blob.
  link.addEventListener('click', (event) => {
    const key = apiKey();
    if (!key) return;
    event.preventDefault();
    void fetch(url, { headers: { Authorization: `Bearer ${key}` } })
      .then(async (response) => {
        if (!response.ok) throw new Error(`the server answered ${response.status}`);
        const name = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? `greenkube-report.${format}`;
        const blob = await response.blob();
        const a = h('a', { href: URL.createObjectURL(blob), download: name });
        document.body.append(a);
        a.click();
        a.remove();
        window.setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      })
      .catch((error: unknown) => {
        link.after(errorBox(`the download failed: ${messageOf(error)}`));
      });
  });
  return link;
}

// Recommendations: the saved findings by status (active, ignored, applied), filtered by type and
// namespace and sorted by savings; apply, ignore with a reason, restore; scan again.

import { get, messageOf, send, type Recommendation, type Savings } from '../api';
import { pageHeader, serverConfig, type Ctx } from '../app';
import { card, code, emptyBox, errorBox, h, loading, replace, type Child } from '../dom';
import { bytes, count, dateTime, mass, millicores, money, moneyOrUnknown } from '../format';
import { typeLabel } from '../labels';
import { figure, sumIntervals, table } from '../widgets';

type Status = 'active' | 'ignored' | 'applied';

const STATUSES: { status: Status; label: string }[] = [
  { status: 'active', label: 'To do' },
  { status: 'ignored', label: 'Ignored' },
  { status: 'applied', label: 'Applied' },
];

interface Data {
  active: Recommendation[];
  ignored: Recommendation[];
  applied: Recommendation[];
  savings: Savings;
}

async function loadAll(): Promise<Data> {
  const [active, ignored, applied, savings] = await Promise.all([
    get<Recommendation[]>('/recommendations/active'),
    get<Recommendation[]>('/recommendations/ignored'),
    get<Recommendation[]>('/recommendations/applied'),
    get<Savings>('/recommendations/savings'),
  ]);
  return { active, ignored, applied, savings };
}

/** Recommendations shown at first, and added by each "show more". */
const PAGE = 10;

const PRIORITY_ORDER: Record<string, number> = { high: 0, medium: 1, low: 2 };

/** `/recommendations`. */
export function recommendations(ctx: Ctx): void {
  const status: Status = (STATUSES.find((s) => s.status === ctx.query.get('status'))?.status ?? 'active');
  const filters = {
    type: ctx.query.get('type') ?? '',
    namespace: ctx.query.get('namespace') ?? '',
    sort: ctx.query.get('sort') ?? 'co2',
  };
  let readOnly = false;
  let data: Data | null = null;

  const live = h('p', { class: 'live', role: 'status', 'aria-live': 'polite', tabindex: '-1', 'data-testid': 'rec-status' });
  const scanButton = h('button', { type: 'button', class: 'button', 'data-testid': 'scan' }, 'Scan again');
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'Recommendation status' });
  const filterBar = h('div', { class: 'filters' });
  const totals = h('div', { class: 'slot' });
  const list = h('div', { class: 'slot', 'data-testid': 'rec-list' });
  const ignoreDialog = makeIgnoreDialog();
  const applyDialog = makeApplyDialog();

  ctx.main.append(
    pageHeader(
      'Recommendations',
      'Changes that would cut CO2e and cost, found in the last 7 days of data. Mark one applied once it is live in the cluster, or ignore it with a reason.',
      scanButton,
    ),
    live,
    tabs,
    filterBar,
    totals,
    list,
    ignoreDialog.dialog,
    applyDialog.dialog,
  );

  const setQuery = (): void => {
    const search = new URLSearchParams();
    if (status !== 'active') search.set('status', status);
    if (filters.type) search.set('type', filters.type);
    if (filters.namespace) search.set('namespace', filters.namespace);
    if (filters.sort !== 'co2') search.set('sort', filters.sort);
    const text = search.toString();
    history.replaceState(null, '', `/recommendations${text ? `?${text}` : ''}`);
  };

  const tabHref = (s: Status): string => {
    const search = new URLSearchParams();
    if (s !== 'active') search.set('status', s);
    if (filters.type) search.set('type', filters.type);
    if (filters.namespace) search.set('namespace', filters.namespace);
    const text = search.toString();
    return `/recommendations${text ? `?${text}` : ''}`;
  };

  const render = (): void => {
    if (!data || !ctx.alive()) return;
    const d = data;
    replace(
      tabs,
      h(
        'ul',
        null,
        STATUSES.map((s) =>
          h(
            'li',
            null,
            h(
              'a',
              { href: tabHref(s.status), 'aria-current': s.status === status ? 'page' : null, 'data-tab': s.status },
              `${s.label} `,
              h('span', { class: 'count' }, count(d[s.status].length)),
            ),
          ),
        ),
      ),
    );
    const all = [...d.active, ...d.ignored, ...d.applied];
    const types = [...new Set(all.map((r) => r.type))].sort();
    const namespaces = [...new Set(all.map((r) => r.namespace ?? ''))].sort();
    const typeSelect = h(
      'select',
      { id: 'filter-type', 'data-testid': 'filter-type' },
      h('option', { value: '' }, 'All types'),
      types.map((t) => h('option', { value: t, selected: t === filters.type }, typeLabel(t))),
    );
    const nsSelect = h(
      'select',
      { id: 'filter-namespace', 'data-testid': 'filter-namespace' },
      h('option', { value: '' }, 'All namespaces'),
      namespaces.map((n) => h('option', { value: n || '_cluster', selected: (n || '_cluster') === filters.namespace }, n || 'Cluster-wide (nodes, regions)')),
    );
    const sortSelect = h(
      'select',
      { id: 'filter-sort' },
      h('option', { value: 'co2', selected: filters.sort === 'co2' }, 'CO2e saved'),
      h('option', { value: 'cost', selected: filters.sort === 'cost' }, 'Cost saved'),
      h('option', { value: 'priority', selected: filters.sort === 'priority' }, 'Priority'),
    );
    const onChange = (): void => {
      filters.type = typeSelect.value;
      filters.namespace = nsSelect.value;
      filters.sort = sortSelect.value;
      setQuery();
      renderList();
    };
    for (const s of [typeSelect, nsSelect, sortSelect]) s.addEventListener('change', onChange);
    replace(
      filterBar,
      h('div', { class: 'field' }, h('label', { for: 'filter-type' }, 'Type'), typeSelect),
      h('div', { class: 'field' }, h('label', { for: 'filter-namespace' }, 'Namespace'), nsSelect),
      h('div', { class: 'field' }, h('label', { for: 'filter-sort' }, 'Sort by'), sortSelect),
    );
    renderList();
  };

  const renderList = (): void => {
    if (!data) return;
    const d = data;
    const shown = d[status]
      .filter((r) => !filters.type || r.type === filters.type)
      .filter((r) => !filters.namespace || (r.namespace ?? '_cluster') === filters.namespace)
      .sort((a, b) => {
        if (filters.sort === 'cost') return (b.potential_savings_cost ?? -1) - (a.potential_savings_cost ?? -1);
        if (filters.sort === 'priority')
          return (PRIORITY_ORDER[a.priority] ?? 3) - (PRIORITY_ORDER[b.priority] ?? 3) || b.potential_savings_co2e_grams - a.potential_savings_co2e_grams;
        return b.potential_savings_co2e_grams - a.potential_savings_co2e_grams;
      });
    replace(totals, totalsView(status, shown, d));
    if (d[status].length === 0) {
      replace(list, emptyState(status, d, scan, readOnly));
      return;
    }
    if (shown.length === 0) {
      const clear = h('button', { type: 'button', class: 'button' }, 'Clear the filters');
      clear.addEventListener('click', () => {
        filters.type = '';
        filters.namespace = '';
        setQuery();
        render();
      });
      replace(list, emptyBox(h('p', null, 'No recommendation matches these filters. '), clear));
      return;
    }
    const items = h('ul', { class: 'recs' });
    const more = h('button', { type: 'button', class: 'button', 'data-testid': 'show-more' });
    let count_ = 0;
    const showMore = (): void => {
      const next = shown.slice(count_, count_ + PAGE);
      const first = next[0];
      for (const r of next) {
        items.append(h('li', null, recCard(r, status, readOnly, { apply: () => applyDialog.open(r, done), ignore: () => ignoreDialog.open(r, done), restore: () => void restore(r) })));
      }
      count_ += next.length;
      more.hidden = count_ >= shown.length;
      more.textContent = `Show ${count(Math.min(PAGE, shown.length - count_))} more (${count(shown.length - count_)} left)`;
      if (first && count_ > PAGE) items.querySelector<HTMLElement>(`[data-id="${CSS.escape(first.id)}"] h3`)?.focus();
    };
    more.addEventListener('click', showMore);
    replace(list, items, h('p', { class: 'more' }, more));
    showMore();
  };

  const reload = async (message?: string): Promise<void> => {
    try {
      data = await loadAll();
      render();
      if (message) {
        live.textContent = message;
        // The card acted on is gone: keyboard focus goes to what happened.
        live.focus();
      }
    } catch (error) {
      if (!ctx.alive()) return;
      replace(list, errorBox(messageOf(error), () => void reload()));
    }
  };

  const done = (message: string): void => {
    void reload(message);
  };

  const restore = async (r: Recommendation): Promise<void> => {
    live.textContent = `Restoring “${r.description}”…`;
    try {
      await send('DELETE', `/recommendations/${encodeURIComponent(r.id)}/ignore`);
      await reload(`Restored “${r.description}”: it is back under To do.`);
    } catch (error) {
      live.textContent = `Could not restore it: ${messageOf(error)}`;
    }
  };

  const scan = async (): Promise<void> => {
    scanButton.disabled = true;
    scanButton.textContent = 'Scanning…';
    live.textContent = 'Scanning the last 7 days of data: this takes a few seconds.';
    try {
      const found = await get<Recommendation[]>('/recommendations');
      await reload(`Scan done: ${count(found.length)} recommendation${found.length === 1 ? '' : 's'} found.`);
    } catch (error) {
      live.textContent = `The scan failed: ${messageOf(error)}`;
    } finally {
      scanButton.disabled = readOnly;
      scanButton.textContent = 'Scan again';
    }
  };
  scanButton.addEventListener('click', () => void scan());

  replace(list, loading('Loading the recommendations'));
  void serverConfig().then((config) => {
    readOnly = config?.read_only ?? false;
    if (readOnly) {
      scanButton.disabled = true;
      scanButton.title = 'The server is read-only';
    }
    void reload();
  });
}

function totalsView(status: Status, shown: Recommendation[], d: Data): Child {
  if (shown.length === 0) return null;
  if (status === 'applied') {
    const co2 = shown.reduce((sum, r) => sum + (r.carbon_saved_co2e_grams ?? 0), 0);
    const cost = shown.reduce((sum, r) => sum + (r.cost_saved ?? 0), 0);
    return card(
      'Realised savings',
      { class: 'card card-wide' },
      h(
        'p',
        { class: 'rec-total', 'data-testid': 'applied-total' },
        h('strong', null, `${count(shown.length)} applied`),
        ' — saving ',
        h('strong', null, `${mass(co2)} CO2e`),
        ' and ',
        h('strong', null, money(cost)),
        ' per year.',
      ),
      d.savings.namespace_breakdown.length > 1
        ? table(
            'Savings of applied recommendations by namespace',
            [
              { label: 'Namespace', cell: (b) => (b.namespace === '_cluster' ? 'Cluster-wide' : b.namespace) },
              { label: 'Applied', numeric: true, cell: (b) => count(b.count) },
              { label: 'CO2e saved per year', numeric: true, cell: (b) => mass(b.carbon_saved_co2e_grams) },
              { label: 'Cost saved per year', numeric: true, cell: (b) => money(b.cost_saved) },
            ],
            d.savings.namespace_breakdown,
            'table-savings',
          )
        : null,
    );
  }
  if (status === 'ignored') return null;
  const co2 = shown.reduce((sum, r) => sum + r.potential_savings_co2e_grams, 0);
  const interval = sumIntervals(shown.map((r) => r.potential_savings_co2e_grams_interval));
  const known = shown.filter((r) => r.potential_savings_cost !== null);
  const cost = known.reduce((sum, r) => sum + (r.potential_savings_cost ?? 0), 0);
  return h(
    'p',
    { class: 'rec-total', 'data-testid': 'active-total' },
    h('strong', null, `${count(shown.length)} recommendation${shown.length === 1 ? '' : 's'}`),
    ' could save ',
    figure(mass(co2, interval)),
    ' CO2e',
    known.length > 0 ? [' and ', h('strong', null, money(cost))] : '',
    ' per year',
    known.length < shown.length ? ` (the cost effect of ${count(shown.length - known.length)} is not known)` : '',
    '.',
  );
}

function emptyState(status: Status, d: Data, scan: () => Promise<void>, readOnly: boolean): HTMLElement {
  if (status === 'active') {
    const nothingSaved = d.ignored.length === 0 && d.applied.length === 0;
    const button = h('button', { type: 'button', class: 'button button-primary', disabled: readOnly, 'data-testid': 'scan-empty' }, 'Scan the last 7 days');
    button.addEventListener('click', () => void scan());
    return emptyBox(
      h('p', null, h('strong', null, nothingSaved ? 'No recommendations saved yet.' : 'Nothing left to do.')),
      h('p', null, 'A scan reads the last 7 days of data and saves what could be cut (takes a few seconds). You can also run ', code('greenkube recommend --save'), '.'),
      button,
    );
  }
  if (status === 'ignored') return emptyBox(h('p', null, 'Nothing ignored. Recommendations you ignore are kept here with their reason, and can be restored.'));
  return emptyBox(h('p', null, 'Nothing applied yet. Mark a recommendation as applied once the change is live in the cluster: its savings then count as realised.'));
}

function changeLines(r: Recommendation): Child[] {
  const lines: Child[] = [];
  if (r.current_cpu_request_millicores !== null || r.recommended_cpu_request_millicores !== null) {
    lines.push(
      h(
        'div',
        null,
        h('dt', null, 'CPU request'),
        h('dd', null, `${r.current_cpu_request_millicores === null ? '—' : millicores(r.current_cpu_request_millicores)} → ${r.recommended_cpu_request_millicores === null ? '—' : millicores(r.recommended_cpu_request_millicores)}`),
      ),
    );
  }
  if (r.current_memory_request_bytes !== null || r.recommended_memory_request_bytes !== null) {
    lines.push(
      h(
        'div',
        null,
        h('dt', null, 'Memory request'),
        h('dd', null, `${r.current_memory_request_bytes === null ? '—' : bytes(r.current_memory_request_bytes)} → ${r.recommended_memory_request_bytes === null ? '—' : bytes(r.recommended_memory_request_bytes)}`),
      ),
    );
  }
  if (r.cron_schedule) lines.push(h('div', null, h('dt', null, 'Schedule'), h('dd', null, code(r.cron_schedule))));
  return lines;
}

function recCard(
  r: Recommendation,
  status: Status,
  readOnly: boolean,
  actions: { apply: () => void; ignore: () => void; restore: () => void },
): HTMLElement {
  const where = r.namespace ? `namespace ${r.namespace}` : 'cluster-wide';
  const buttons: Child[] = [];
  const disabled = readOnly ? { disabled: true, title: 'The server is read-only' } : {};
  if (status === 'active') {
    buttons.push(
      h('button', { type: 'button', class: 'button button-primary', 'data-action': 'apply', 'aria-label': `Mark as applied: ${r.description}`, onclick: actions.apply, ...disabled }, 'Mark as applied'),
      h('button', { type: 'button', class: 'button', 'data-action': 'ignore', 'aria-label': `Ignore: ${r.description}`, onclick: actions.ignore, ...disabled }, 'Ignore…'),
    );
  } else if (status === 'ignored') {
    buttons.push(h('button', { type: 'button', class: 'button', 'data-action': 'restore', 'aria-label': `Restore: ${r.description}`, onclick: actions.restore, ...disabled }, 'Restore'));
  }
  const facts = h(
    'dl',
    { class: 'rec-facts' },
    h(
      'div',
      null,
      h('dt', null, status === 'applied' ? 'Projected CO2e per year' : 'CO2e saved per year'),
      h('dd', { 'data-testid': 'rec-co2' }, figure(mass(r.potential_savings_co2e_grams, r.potential_savings_co2e_grams_interval))),
    ),
    h(
      'div',
      null,
      h('dt', null, status === 'applied' ? 'Projected cost per year' : 'Cost saved per year'),
      h('dd', { 'data-testid': 'rec-cost' }, moneyOrUnknown(r.potential_savings_cost, 'not known')),
    ),
    status === 'applied'
      ? [
          h('div', null, h('dt', null, 'Realised CO2e per year'), h('dd', { 'data-testid': 'rec-realised-co2' }, r.carbon_saved_co2e_grams === null ? '—' : mass(r.carbon_saved_co2e_grams))),
          h('div', null, h('dt', null, 'Realised cost per year'), h('dd', null, moneyOrUnknown(r.cost_saved, 'not known'))),
        ]
      : null,
  );
  const changes = changeLines(r);
  return h(
    'article',
    { class: `rec rec-${r.priority}`, 'data-id': r.id, 'aria-label': r.description },
    h(
      'div',
      { class: 'rec-main' },
      h(
        'div',
        { class: 'rec-meta' },
        h('span', { class: `badge badge-${r.priority}` }, `${r.priority} priority`),
        h('span', { class: 'rec-type' }, typeLabel(r.type)),
        h('span', { class: 'rec-where' }, where),
      ),
      h('h3', { tabindex: '-1' }, r.description),
      h('p', { class: 'rec-reason' }, r.reason.charAt(0).toUpperCase() + r.reason.slice(1)),
      changes.length ? h('dl', { class: 'rec-changes' }, changes) : null,
      status === 'ignored'
        ? h('p', { class: 'rec-state', 'data-testid': 'ignored-reason' }, `Ignored ${r.ignored_at ? dateTime(r.ignored_at) : ''}: “${r.ignored_reason ?? 'no reason given'}”`)
        : null,
      status === 'applied' && r.applied_at ? h('p', { class: 'rec-state' }, `Applied ${dateTime(r.applied_at)}.`) : null,
    ),
    h('div', { class: 'rec-side' }, facts, buttons.length ? h('div', { class: 'rec-actions' }, buttons) : null),
  );
}

/** The dialog asking why a recommendation is ignored. */
function makeIgnoreDialog(): { dialog: HTMLDialogElement; open: (r: Recommendation, done: (message: string) => void) => void } {
  const title = h('h2', { id: 'ignore-title' }, 'Ignore this recommendation?');
  const what = h('p', { class: 'dialog-what' });
  const reason = h('textarea', { id: 'ignore-reason', name: 'reason', rows: 3, 'aria-required': 'true', 'aria-describedby': 'ignore-error', maxlength: 500, 'data-testid': 'ignore-reason' });
  const error = h('p', { id: 'ignore-error', class: 'dialog-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'ignore-confirm' }, 'Ignore');
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const form = h(
    'form',
    { method: 'dialog' },
    title,
    what,
    h('label', { for: 'ignore-reason' }, 'Why? (kept with it, for the team)'),
    reason,
    error,
    h('div', { class: 'dialog-buttons' }, submit, cancel),
  );
  const dialog = h('dialog', { 'aria-labelledby': 'ignore-title', 'data-testid': 'ignore-dialog' }, form);
  let current: { r: Recommendation; done: (message: string) => void } | null = null;
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!current) return;
    const text = reason.value.trim();
    if (!text) {
      error.textContent = 'Give a reason: it tells the team why this is not done.';
      reason.focus();
      return;
    }
    const { r, done } = current;
    submit.disabled = true;
    send('PATCH', `/recommendations/${encodeURIComponent(r.id)}/ignore`, { reason: text }).then(
      () => {
        submit.disabled = false;
        dialog.close();
        done(`Ignored “${r.description}”. It is kept under Ignored, with your reason.`);
      },
      (e: unknown) => {
        submit.disabled = false;
        error.textContent = `Could not ignore it: ${messageOf(e)}`;
      },
    );
  });
  return {
    dialog,
    open: (r, done) => {
      current = { r, done };
      what.textContent = r.description;
      reason.value = '';
      error.textContent = '';
      dialog.showModal();
      reason.focus();
    },
  };
}

/** The dialog confirming a recommendation was applied, with the values actually set. */
function makeApplyDialog(): { dialog: HTMLDialogElement; open: (r: Recommendation, done: (message: string) => void) => void } {
  const title = h('h2', { id: 'apply-title' }, 'Mark as applied?');
  const what = h('p', { class: 'dialog-what' });
  const fields = h('div');
  const error = h('p', { class: 'dialog-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button button-primary', 'data-testid': 'apply-confirm' }, 'Mark as applied');
  const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
  const form = h(
    'form',
    { method: 'dialog' },
    title,
    what,
    h('p', null, 'Do this once the change is live in the cluster: its savings then count as realised.'),
    fields,
    error,
    h('div', { class: 'dialog-buttons' }, submit, cancel),
  );
  const dialog = h('dialog', { 'aria-labelledby': 'apply-title', 'data-testid': 'apply-dialog' }, form);
  let current: { r: Recommendation; done: (message: string) => void } | null = null;
  let cpu: HTMLInputElement | null = null;
  let memory: HTMLInputElement | null = null;
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!current) return;
    const { r, done } = current;
    const body: Record<string, number> = {};
    const cpuValue = cpu?.value.trim();
    const memoryValue = memory?.value.trim();
    if (cpuValue) body.actual_cpu_request_millicores = Number(cpuValue);
    if (memoryValue) body.actual_memory_request_bytes = Number(memoryValue) * 2 ** 20;
    if (Object.values(body).some((v) => !Number.isFinite(v) || v < 0)) {
      error.textContent = 'The values set must be numbers, 0 or more.';
      return;
    }
    submit.disabled = true;
    send('PATCH', `/recommendations/${encodeURIComponent(r.id)}/apply`, Object.keys(body).length ? body : undefined).then(
      () => {
        submit.disabled = false;
        dialog.close();
        done(`Marked “${r.description}” as applied. Its savings are under Applied.`);
      },
      (e: unknown) => {
        submit.disabled = false;
        error.textContent = `Could not mark it applied: ${messageOf(e)}`;
      },
    );
  });
  return {
    dialog,
    open: (r, done) => {
      current = { r, done };
      what.textContent = r.description;
      error.textContent = '';
      fields.replaceChildren();
      cpu = null;
      memory = null;
      if (r.recommended_cpu_request_millicores !== null) {
        cpu = h('input', { id: 'apply-cpu', type: 'number', min: 0, step: 1, inputmode: 'numeric', value: String(Math.round(r.recommended_cpu_request_millicores)) });
        fields.append(h('div', { class: 'field' }, h('label', { for: 'apply-cpu' }, 'CPU request set (millicores; empty if not known)'), cpu));
      }
      if (r.recommended_memory_request_bytes !== null) {
        memory = h('input', { id: 'apply-memory', type: 'number', min: 0, step: 1, inputmode: 'numeric', value: String(Math.round(r.recommended_memory_request_bytes / 2 ** 20)) });
        fields.append(h('div', { class: 'field' }, h('label', { for: 'apply-memory' }, 'Memory request set (MiB; empty if not known)'), memory));
      }
      dialog.showModal();
      submit.focus();
    },
  };
}

// The overview: one sentence, the KPIs with their intervals, the time series, the score and its
// dimensions, the recommendations to act on, CO2e by namespace and the top pods.

import { get, type NamespaceRow, type PodRow, type Recommendation, type Savings, type ScoreView, type Summary } from '../api';
import { pageHeader, rangeSelector, withRange, type Ctx } from '../app';
import { card, code, emptyBox, h } from '../dom';
import { count, fixed, mass, money, moneyOrUnknown } from '../format';
import { DIMENSIONS, rating, typeLabel } from '../labels';
import {
  bar,
  coverageNote,
  figure,
  headline,
  namespacesView,
  noData,
  podsTable,
  section,
  sumIntervals,
  summaryTiles,
  timeseriesCard,
} from '../widgets';

/** `/`. */
export function overview(ctx: Ctx): void {
  const range = ctx.range;
  const summarySlot = h('div', { class: 'slot' });
  const rest = h('div');
  ctx.main.append(
    pageHeader('Overview', 'Carbon footprint, energy and cost of the workloads of the cluster.', rangeSelector(ctx, '/')),
    summarySlot,
    rest,
  );
  section(
    ctx,
    summarySlot,
    () => get<Summary>('/metrics/summary', { last: range.slug }),
    (summary) => {
      if (summary.coverage.rows === 0) {
        const slot = h('div', { class: 'slot' });
        section(ctx, slot, () => get<number[]>('/report/years'), (years) => emptyStore(ctx, years), 'Looking for data');
        return slot;
      }
      fillRest(ctx, rest);
      return [headline(summary, range, 'the cluster’s workloads'), summaryTiles(summary), coverageNote(summary.coverage, summary)];
    },
    'Loading the totals',
  );
}

/** No data in the range: an empty store, or a range to widen. */
function emptyStore(ctx: Ctx, years: number[]): HTMLElement {
  if (years.length > 0) return noData(ctx, '/', ctx.range);
  return emptyBox(
    h('p', null, h('strong', null, 'The store has no data yet.')),
    h(
      'p',
      null,
      'Run ',
      code('greenkube collect'),
      ' next to the cluster (Prometheus and the Kubernetes API) to record its workloads, then come back here. To try the dashboard first, ',
      code('greenkube demo'),
      ' fills a store with a demo cluster.',
    ),
  );
}

/** The sections under the totals, loaded once the range has data. */
function fillRest(ctx: Ctx, rest: HTMLElement): void {
  const range = ctx.range;
  const scoreSlot = h('div', { class: 'slot' });
  const recsSlot = h('div', { class: 'slot' });
  const nsSlot = h('div', { class: 'slot' });
  const podsSlot = h('div', { class: 'slot' });
  rest.replaceChildren(
    timeseriesCard(ctx, {}, '/'),
    h(
      'div',
      { class: 'grid-2' },
      card('Sustainability score', { 'data-testid': 'card-score' }, scoreSlot),
      card('Recommendations', { 'data-testid': 'card-recommendations' }, recsSlot),
    ),
    card('CO2e by namespace', { class: 'card card-wide' }, nsSlot),
    card('Top pods by operational CO2e', { class: 'card card-wide' }, podsSlot),
  );

  section(
    ctx,
    scoreSlot,
    () => get<ScoreView>('/score', { last: range.slug }),
    (view) => scoreView(view),
    'Computing the score (this can take a few seconds)',
  );

  section(
    ctx,
    recsSlot,
    () => Promise.all([get<Recommendation[]>('/recommendations/active'), get<Savings>('/recommendations/savings')]),
    ([active, savings]) => recommendationsSummary(active, savings),
    'Loading the recommendations',
  );

  section(
    ctx,
    nsSlot,
    () => get<NamespaceRow[]>('/metrics/by-namespace', { last: range.slug }),
    (rows) =>
      rows.length === 0
        ? noData(ctx, '/', range)
        : [
            namespacesView(ctx, rows, 10),
            rows.length > 10
              ? h('p', { class: 'more' }, h('a', { href: withRange('/namespaces', range) }, `All ${rows.length} namespaces`))
              : null,
          ],
    'Loading the namespaces',
  );

  section(
    ctx,
    podsSlot,
    () => get<PodRow[]>('/metrics/top-pods', { last: range.slug, limit: 10 }),
    (rows) => (rows.length === 0 ? noData(ctx, '/', range) : podsTable(ctx, rows)),
    'Loading the pods',
  );
}

function scoreView(view: ScoreView): HTMLElement {
  const score = view.score;
  if (view.windows === 0) {
    return emptyBox(h('p', null, 'No data in this range to score: pick a longer range.'));
  }
  const { word, tone } = rating(score.score);
  return h(
    'div',
    { class: 'score' },
    h(
      'p',
      { class: `score-total score-${tone}`, 'data-testid': 'score-total' },
      h('span', { class: 'score-number' }, fixed(score.score, 1)),
      h('span', { class: 'score-of' }, ' / 100 '),
      h('span', { class: 'score-word' }, word),
    ),
    h(
      'ul',
      { class: 'dimensions' },
      score.dimensions.map((d) => {
        const [name, what] = DIMENSIONS[d.name] ?? [d.name, ''];
        return h(
          'li',
          { 'data-dimension': d.name },
          h(
            'div',
            { class: 'dimension-head' },
            h('span', { class: 'dimension-name', title: what }, name),
            h('span', { class: 'dimension-weight' }, `weight ${fixed(100 * d.weight, 0)}%`),
            h('span', { class: `dimension-score score-${rating(d.score).tone}` }, d.has_data ? fixed(d.score, 1) : 'no data'),
          ),
          bar(d.score, 100, `${name}: ${fixed(d.score, 1)} of 100`),
          h('p', { class: 'dimension-detail' }, d.detail),
        );
      }),
    ),
  );
}

function recommendationsSummary(active: Recommendation[], savings: Savings): HTMLElement {
  if (active.length === 0) {
    return emptyBox(
      h('p', null, h('strong', null, 'No active recommendations.')),
      h(
        'p',
        null,
        savings.applied_count > 0
          ? `${count(savings.applied_count)} applied so far. `
          : 'None saved yet. ',
        h('a', { href: '/recommendations' }, 'Scan the last 7 days for savings'),
        '.',
      ),
    );
  }
  const co2 = active.reduce((sum, r) => sum + r.potential_savings_co2e_grams, 0);
  const interval = sumIntervals(active.map((r) => r.potential_savings_co2e_grams_interval));
  const costs = active.filter((r) => r.potential_savings_cost !== null);
  const cost = costs.reduce((sum, r) => sum + (r.potential_savings_cost ?? 0), 0);
  const top = [...active].sort((a, b) => b.potential_savings_co2e_grams - a.potential_savings_co2e_grams).slice(0, 4);
  return h(
    'div',
    null,
    h(
      'p',
      { class: 'rec-total' },
      h('strong', null, `${count(active.length)} recommendation${active.length === 1 ? '' : 's'}`),
      ' could save ',
      figure(`${mass(co2, interval)}`, 'recs-co2'),
      ' CO2e',
      costs.length > 0 ? [' and ', h('strong', null, money(cost)), costs.length < active.length ? ' (where the cost is known)' : ''] : '',
      ' per year.',
    ),
    h(
      'ol',
      { class: 'rec-list' },
      top.map((r) =>
        h(
          'li',
          null,
          h('span', { class: `badge badge-${r.priority}` }, r.priority),
          ' ',
          h('span', { class: 'rec-type' }, typeLabel(r.type)),
          h('div', { class: 'rec-desc' }, r.description),
          h(
            'div',
            { class: 'rec-savings' },
            `saves ${mass(r.potential_savings_co2e_grams)} CO2e and ${moneyOrUnknown(r.potential_savings_cost, 'an unknown amount')} a year`,
          ),
        ),
      ),
    ),
    savings.applied_count > 0
      ? h(
          'p',
          { class: 'note' },
          `Applied so far: ${count(savings.applied_count)}, saving ${mass(savings.total_carbon_saved_co2e_grams)} CO2e and ${money(savings.total_cost_saved)} a year.`,
        )
      : null,
    h('p', { class: 'more' }, h('a', { href: '/recommendations' }, `Review all ${count(active.length)} recommendations`)),
  );
}

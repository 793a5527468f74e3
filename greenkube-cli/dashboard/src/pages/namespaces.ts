// Namespaces: every namespace's CO2e, energy and cost, and one namespace's page (its totals,
// time series, pods and recommendations).

import { get, type NamespaceRow, type PodRow, type Recommendation, type Summary } from '../api';
import { pageHeader, rangeSelector, withRange, type Ctx } from '../app';
import { card, code, emptyBox, h } from '../dom';
import { count, mass, moneyOrUnknown } from '../format';
import { typeLabel } from '../labels';
import { coverageNote, headline, namespacesView, noData, podsTable, section, summaryTiles, timeseriesCard } from '../widgets';

/** `/namespaces`. */
export function namespaces(ctx: Ctx): void {
  const slot = h('div', { class: 'slot' });
  ctx.main.append(
    pageHeader('Namespaces', 'Each namespace’s share of the footprint. Pick one to see its pods and recommendations.', rangeSelector(ctx, '/namespaces')),
    card('CO2e by namespace', { class: 'card card-wide' }, slot),
  );
  section(
    ctx,
    slot,
    () => get<NamespaceRow[]>('/metrics/by-namespace', { last: ctx.range.slug }),
    (rows) => (rows.length === 0 ? noData(ctx, '/namespaces', ctx.range) : namespacesView(ctx, rows)),
    'Loading the namespaces',
  );
}

/** `/namespaces/{name}`. */
export function namespaceDetail(ctx: Ctx): void {
  const name = ctx.params[0] ?? '';
  const path = `/namespaces/${encodeURIComponent(name)}`;
  const summarySlot = h('div', { class: 'slot' });
  const middle = h('div');
  const recsSlot = h('div', { class: 'slot' });
  ctx.main.append(
    h('p', { class: 'breadcrumb' }, h('a', { href: withRange('/namespaces', ctx.range) }, 'Namespaces'), ' / ', name),
    pageHeader(`Namespace ${name}`, 'Totals, trend, pods and recommendations of this namespace.', rangeSelector(ctx, path)),
    summarySlot,
    middle,
    card('Recommendations', { class: 'card card-wide' }, recsSlot),
  );
  section(
    ctx,
    summarySlot,
    () => get<Summary>('/metrics/summary', { last: ctx.range.slug, namespace: name }),
    (summary) => {
      if (summary.coverage.rows === 0) return noData(ctx, path, ctx.range, `No data for namespace ${name}`);
      const podsSlot = h('div', { class: 'slot' });
      middle.replaceChildren(timeseriesCard(ctx, { namespace: name }, path), card('Top pods by operational CO2e', { class: 'card card-wide' }, podsSlot));
      section(
        ctx,
        podsSlot,
        () => get<PodRow[]>('/metrics/top-pods', { last: ctx.range.slug, namespace: name, limit: 20 }),
        (rows) => (rows.length === 0 ? noData(ctx, path, ctx.range) : podsTable(ctx, rows, false)),
        'Loading the pods',
      );
      return [headline(summary, ctx.range, `namespace ${name}`), summaryTiles(summary), coverageNote(summary.coverage, summary)];
    },
    'Loading the totals',
  );
  section(
    ctx,
    recsSlot,
    () => get<Recommendation[]>('/recommendations/active', { namespace: name }),
    (recs) =>
      recs.length === 0
        ? emptyBox(
            h('p', null, `No active recommendations for ${name}. `, h('a', { href: '/recommendations' }, 'Scan for recommendations'), ' or run ', code('greenkube recommend --save'), '.'),
          )
        : h(
            'ul',
            { class: 'rec-list plain' },
            recs
              .sort((a, b) => b.potential_savings_co2e_grams - a.potential_savings_co2e_grams)
              .map((r) =>
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
                    `saves ${mass(r.potential_savings_co2e_grams, r.potential_savings_co2e_grams_interval)} CO2e and ${moneyOrUnknown(r.potential_savings_cost, 'an unknown amount')} a year`,
                  ),
                ),
              ),
            h('li', { class: 'more' }, h('a', { href: `/recommendations?namespace=${encodeURIComponent(name)}` }, `Act on these ${count(recs.length)} recommendations`)),
          ),
    'Loading the recommendations',
  );
}

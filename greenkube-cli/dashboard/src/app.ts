// The shell every page shares: the time ranges, the context a page renders with, the page
// header with its range selector, and the configuration read once per load.

import { get, type Config } from './api';
import { h, type Child } from './dom';

/** A time range the dashboard offers, its API `last` value and its chart granularity. */
export interface Range {
  slug: string;
  label: string;
  short: string;
  granularity: 'hour' | 'day' | 'week' | 'month';
}

/** Every range of the selector, shortest first. */
export const RANGES: Range[] = [
  { slug: '1h', label: 'the last hour', short: '1 h', granularity: 'hour' },
  { slug: '6h', label: 'the last 6 hours', short: '6 h', granularity: 'hour' },
  { slug: '24h', label: 'the last 24 hours', short: '24 h', granularity: 'hour' },
  { slug: '7d', label: 'the last 7 days', short: '7 days', granularity: 'hour' },
  { slug: '30d', label: 'the last 30 days', short: '30 days', granularity: 'day' },
  { slug: '1y', label: 'the last 12 months', short: '1 year', granularity: 'day' },
  { slug: 'ytd', label: 'this year so far', short: 'Year to date', granularity: 'day' },
];

/** The default range. */
export const DEFAULT_RANGE = RANGES[2];

/** The range named by `?last=`, or the default. */
export function rangeOf(query: URLSearchParams): Range {
  return RANGES.find((r) => r.slug === query.get('last')) ?? DEFAULT_RANGE;
}

/** A clearly longer range to suggest when a range is empty (none after a year). */
const LONGER: Record<string, string> = { '1h': '24h', '6h': '7d', '24h': '7d', '7d': '30d', '30d': '1y', ytd: '1y' };

/** A clearly longer range, to suggest when a range is empty. */
export function longerRange(range: Range): Range | null {
  return RANGES.find((r) => r.slug === LONGER[range.slug]) ?? null;
}

/** Something a page made that must be released when the page goes (a chart). */
export interface Disposable {
  destroy(): void;
}

/** What a page renders with. */
export interface Ctx {
  /** The element the page fills. */
  main: HTMLElement;
  /** The parts of the path the route captured. */
  params: string[];
  /** The query string. */
  query: URLSearchParams;
  /** The time range of `?last=`. */
  range: Range;
  /** Still the page shown (answers that arrive later are dropped). */
  alive(): boolean;
  /** Releases `item` when the page goes. */
  track(item: Disposable): void;
  /** Shows another URL of the dashboard. */
  navigate(url: string, options?: { replace?: boolean }): void;
  /** Renders the page again (after a change). */
  refresh(): void;
}

/** A page of the dashboard. */
export type Page = (ctx: Ctx) => void;

/** A dashboard URL with the current range kept (when the page uses one). */
export function href(path: string, query: Record<string, string | null | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value) search.set(key, value);
  const text = search.toString();
  return `${path}${text ? `?${text}` : ''}`;
}

/** `path` with `?last=` of `range` (left out for the default). */
export function withRange(path: string, range: Range, extra: Record<string, string | null | undefined> = {}): string {
  return href(path, { last: range === DEFAULT_RANGE ? null : range.slug, ...extra });
}

/** The range selector: links, the current one marked. */
export function rangeSelector(ctx: Ctx, path: string): HTMLElement {
  const keep: Record<string, string> = {};
  ctx.query.forEach((value, key) => {
    if (key !== 'last') keep[key] = value;
  });
  return h(
    'nav',
    { class: 'ranges', 'aria-label': 'Time range' },
    h('span', { class: 'ranges-label', 'aria-hidden': 'true' }, 'Range'),
    h(
      'ul',
      null,
      RANGES.map((range) =>
        h(
          'li',
          null,
          h(
            'a',
            {
              href: withRange(path, range, keep),
              'aria-current': range === ctx.range ? 'true' : null,
              title: `Show ${range.label}`,
              'data-range': range.slug,
            },
            range.short,
          ),
        ),
      ),
    ),
  );
}

/** The page's title (focused on arrival), a line under it, and optional controls. */
export function pageHeader(title: string, lead: Child, ...controls: Child[]): HTMLElement {
  document.title = `${title} · greenkube`;
  return h(
    'header',
    { class: 'page-header' },
    h('div', { class: 'page-title' }, h('h1', { tabindex: '-1' }, title), lead ? h('p', { class: 'lead' }, lead) : null),
    controls.length ? h('div', { class: 'page-controls' }, ...controls) : null,
  );
}

let config: Promise<Config | null> | null = null;

/** The server's configuration, read once (null when it cannot be read). */
export function serverConfig(): Promise<Config | null> {
  config ??= get<Config>('/config').catch(() => {
    config = null;
    return null;
  });
  return config;
}

/** Forgets the configuration read (after entering an API key). */
export function forgetConfig(): void {
  config = null;
}

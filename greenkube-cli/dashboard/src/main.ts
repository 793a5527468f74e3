// The greenkube dashboard: a single-page app served by `greenkube serve` at `/`, reading the
// API under /api/v1. Routes are real URLs (the server answers index.html for any of them);
// links are real links, handled here without reloading the page.

import './style.css';

import { rangeOf, serverConfig, type Ctx, type Disposable, type Page } from './app';
import { h, replace } from './dom';
import { namespaceDetail, namespaces } from './pages/namespaces';
import { nodes } from './pages/nodes';
import { overview } from './pages/overview';
import { recommendations } from './pages/recommendations';
import { report } from './pages/report';
import { settings } from './pages/settings';

interface Route {
  pattern: RegExp;
  page: Page;
  nav: string;
}

const ROUTES: Route[] = [
  { pattern: /^\/$/, page: overview, nav: '/' },
  { pattern: /^\/namespaces\/?$/, page: namespaces, nav: '/namespaces' },
  { pattern: /^\/namespaces\/([^/]+)\/?$/, page: namespaceDetail, nav: '/namespaces' },
  { pattern: /^\/nodes\/?$/, page: nodes, nav: '/nodes' },
  { pattern: /^\/recommendations\/?$/, page: recommendations, nav: '/recommendations' },
  { pattern: /^\/report\/?$/, page: report, nav: '/report' },
  { pattern: /^\/settings\/?$/, page: settings, nav: '/settings' },
];

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/namespaces', 'Namespaces'],
  ['/nodes', 'Nodes'],
  ['/recommendations', 'Recommendations'],
  ['/report', 'Report'],
  ['/settings', 'Settings'],
];

const navLinks = NAV.map(([path, label]) => h('a', { href: path, 'data-nav': path }, label));
const main = h('main', { id: 'main', tabindex: '-1' });
const version = h('p', { class: 'sidebar-foot' });

function shell(): HTMLElement {
  return h(
    'div',
    { class: 'layout' },
    h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    h(
      'aside',
      { class: 'sidebar' },
      h(
        'a',
        { class: 'brand', href: '/' },
        h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
        h('span', null, 'greenkube'),
      ),
      h('nav', { 'aria-label': 'Main' }, h('ul', null, navLinks.map((a) => h('li', null, a)))),
      version,
    ),
    main,
  );
}

let generation = 0;
let disposables: Disposable[] = [];
let lastPath = '';

function notFound(ctx: Ctx): void {
  document.title = 'Not found · greenkube';
  ctx.main.append(
    h(
      'div',
      { class: 'state state-empty' },
      h('h1', { tabindex: '-1' }, 'This page does not exist'),
      h('p', null, 'The address ', h('code', null, location.pathname), ' is not a page of the dashboard. ', h('a', { href: '/' }, 'Go to the overview'), '.'),
    ),
  );
}

function render(): void {
  generation += 1;
  const mine = generation;
  for (const item of disposables) {
    try {
      item.destroy();
    } catch {
      // Already released.
    }
  }
  disposables = [];
  const path = decodeURI(location.pathname);
  const query = new URLSearchParams(location.search);
  let route: Route | undefined;
  let params: string[] = [];
  for (const candidate of ROUTES) {
    const match = candidate.pattern.exec(location.pathname);
    if (match) {
      route = candidate;
      params = match.slice(1).map((p) => decodeURIComponent(p));
      break;
    }
  }
  for (const link of navLinks) {
    const current = route?.nav === link.dataset.nav;
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  replace(main);
  const ctx: Ctx = {
    main,
    params,
    query,
    range: rangeOf(query),
    alive: () => generation === mine,
    track: (item) => disposables.push(item),
    navigate,
    refresh: render,
  };
  (route?.page ?? notFound)(ctx);
  if (path !== lastPath) {
    window.scrollTo(0, 0);
    if (lastPath) main.querySelector<HTMLElement>('h1')?.focus();
  }
  lastPath = path;
}

function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = (event.target as Element | null)?.closest?.('a');
  if (!link || link.target || link.hasAttribute('download')) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', render);

const app = document.getElementById('app');
if (app) {
  replace(app, shell());
  render();
  void serverConfig().then((config) => {
    if (config) {
      replace(
        version,
        `greenkube ${config.version}`,
        h('br'),
        `data ${config.data_version}`,
        h('br'),
        h('a', { href: '/api/v1/docs' }, 'API documentation'),
      );
    }
  });
}

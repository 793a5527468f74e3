// End-to-end test of the dashboard in headless Chromium, against a running `greenkube serve`
// over the demo store (scripts/test-dashboard.sh starts both).
//
//   GREENKUBE_URL=http://127.0.0.1:PORT SCREENSHOTS=DIR node tests/e2e.mjs
//
// Every page loads with no console error and no failed request; charts are drawn; the figures
// shown equal the API's; apply, ignore with a reason and restore round-trip through the UI and
// are checked against the API; the report downloads as CSV and JSON; a screenshot of every page
// goes to SCREENSHOTS. Ends with "N passed, N failed" and exits 1 if anything failed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

const base = (process.env.GREENKUBE_URL ?? '').replace(/\/$/, '');
// Optional: a read-only server whose "now" is before any data (empty and read-only states).
const emptyBase = (process.env.GREENKUBE_EMPTY_URL ?? '').replace(/\/$/, '');
// Optional: a server that asks for the API key GREENKUBE_KEY.
const keyBase = (process.env.GREENKUBE_KEY_URL ?? '').replace(/\/$/, '');
const key = process.env.GREENKUBE_KEY ?? '';
if (!base) {
  console.error('set GREENKUBE_URL to the address of a running greenkube serve');
  process.exit(2);
}
const shots = process.env.SCREENSHOTS ?? path.resolve('screenshots');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
fs.mkdirSync(shots, { recursive: true });

// ---------------------------------------------------------------------------------------------
// A small harness: each check runs, failures are counted, the run goes on.

let passed = 0;
const failures = [];

async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failures.push(name);
    console.log(`FAIL ${name}\n     ${String(error?.stack ?? error).split('\n').slice(0, 4).join('\n     ')}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function equal(actual, expected, message) {
  if (actual !== expected) throw new Error(`${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// ---------------------------------------------------------------------------------------------
// The API, read directly.

async function api(pathAndQuery) {
  const response = await fetch(`${base}/api/v1${pathAndQuery}`);
  if (!response.ok) throw new Error(`GET /api/v1${pathAndQuery}: ${response.status} ${await response.text()}`);
  return response.json();
}

// ---------------------------------------------------------------------------------------------
// Reading figures back from the page: "815 g (685–1,707)", "2.43 kWh (1.91–3.00)", "$34.81".

const UNITS = { g: 1, kg: 1e3, t: 1e6, J: 1, Wh: 3.6e3, kWh: 3.6e6, MWh: 3.6e9 };
const NUMBER = '(-?[0-9][0-9,]*(?:\\.[0-9]+)?)';
const FIGURE = new RegExp(`^\\s*${NUMBER} (g|kg|t|J|Wh|kWh|MWh)(?: \\(${NUMBER}–${NUMBER}\\))?\\s*$`);

function decimals(text) {
  const at = text.indexOf('.');
  return at < 0 ? 0 : text.length - at - 1;
}

function parseFigure(text) {
  const match = FIGURE.exec(text);
  assert(match, `not a figure with a unit: ${JSON.stringify(text)}`);
  const [, value, unit, low, high] = match;
  const number = (s) => Number(s.replaceAll(',', ''));
  return {
    value: number(value),
    unit,
    factor: UNITS[unit],
    places: decimals(value),
    low: low === undefined ? null : number(low),
    high: high === undefined ? null : number(high),
  };
}

/** The text shows `expected` (base units) to its precision, and its interval if given. */
function assertFigure(text, expected, interval, what) {
  const figure = parseFigure(text);
  const tolerance = 0.5 * 10 ** -figure.places * figure.factor * 1.000001;
  assert(
    Math.abs(figure.value * figure.factor - expected) <= tolerance,
    `${what}: the page shows ${JSON.stringify(text)}, the API says ${expected}`,
  );
  if (interval) {
    assert(figure.low !== null, `${what}: no interval shown in ${JSON.stringify(text)}`);
    assert(Math.abs(figure.low * figure.factor - interval[0]) <= tolerance, `${what}: low ${figure.low} ${figure.unit} vs ${interval[0]}`);
    assert(Math.abs(figure.high * figure.factor - interval[1]) <= tolerance, `${what}: high ${figure.high} ${figure.unit} vs ${interval[1]}`);
  }
}

function assertMoney(text, expected, what) {
  const match = /^\s*\$(-?[0-9][0-9,]*\.[0-9]{2})\s*$/.exec(text);
  assert(match, `${what}: not an amount with 2 decimals: ${JSON.stringify(text)}`);
  const shown = Number(match[1].replaceAll(',', ''));
  assert(Math.abs(shown - expected) <= 0.005 + 1e-9, `${what}: the page shows ${text}, the API says ${expected}`);
}

// ---------------------------------------------------------------------------------------------
// The browser.

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'greenkube-e2e-profile-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: chromiumPath,
  headless: true,
  viewport: { width: 1366, height: 768 },
  acceptDownloads: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60_000);

const problems = [];
page.on('console', (message) => {
  if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
});
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
page.on('requestfailed', (request) => problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`));
page.on('response', (response) => {
  if (response.status() >= 400) problems.push(`answer ${response.status()}: ${response.request().method()} ${response.url()}`);
});
const external = [];
page.on('request', (request) => {
  const url = request.url();
  const local = url.startsWith(base) || (emptyBase && url.startsWith(emptyBase)) || (keyBase && url.startsWith(keyBase));
  if (!local && !url.startsWith('data:') && !url.startsWith('blob:')) external.push(url);
});

/** No console error, failed request or answer >= 400 since the last call. */
function assertClean(what) {
  const found = problems.splice(0);
  assert(found.length === 0, `${what}:\n       ${found.join('\n       ')}`);
}

/** Every section loaded (no loading state left), none failed. */
async function settled() {
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"], .state-loading'), null, { timeout: 90_000 });
  await page.waitForLoadState('networkidle');
  const errors = await page.locator('.state-error').allInnerTexts();
  assert(errors.length === 0, `a section shows an error: ${errors.join(' | ')}`);
}

async function open(url) {
  await page.goto(`${base}${url}`, { waitUntil: 'domcontentloaded' });
  await settled();
}

async function shot(name, fullPage = true) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });
}

/** Every chart canvas of the page has a size and is painted (its PNG is far larger than a blank
 * canvas's of the same size; read through toDataURL, which does not slow the canvas down). */
async function assertCharts(minimum) {
  const charts = await page.evaluate(() =>
    [...document.querySelectorAll('.chart canvas')].map((canvas) => {
      const c = /** @type {HTMLCanvasElement} */ (canvas);
      const box = c.getBoundingClientRect();
      const blank = document.createElement('canvas');
      blank.width = c.width;
      blank.height = c.height;
      return { label: c.getAttribute('aria-label') ?? '', width: box.width, height: box.height, png: c.toDataURL().length, blank: blank.toDataURL().length };
    }),
  );
  assert(charts.length >= minimum, `expected at least ${minimum} chart(s), found ${charts.length}`);
  for (const chart of charts) {
    assert(chart.width > 0 && chart.height > 0, `chart "${chart.label}" has no size`);
    assert(chart.png > chart.blank + 2000, `chart "${chart.label}" is blank (PNG of ${chart.png} characters, blank ${chart.blank})`);
  }
}

/** Nothing wider than the window (readable on a laptop without scrolling sideways). */
async function assertFits() {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert(scroll <= width, `the page is wider (${scroll} px) than the window (${width} px)`);
}

/** The text of an element as one line (figures and their intervals may sit on two lines). */
async function text(locator) {
  return ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// The checks.

const namespaces = await api('/namespaces');

await check('overview: totals, intervals and headline equal /metrics/summary', async () => {
  await open('/');
  const summary = await api('/metrics/summary?last=24h');
  assert(summary.coverage.rows > 0, 'the demo store has no data in the last 24 h');
  const u = summary.uncertainty;
  assertFigure(await text(page.getByTestId('total-co2e')), summary.total_co2e_all_scopes, u.total_co2e_all_scopes, 'total CO2e');
  assertFigure(await text(page.getByTestId('operational-co2e')), summary.total_co2e_grams, u.co2e_grams, 'operational CO2e');
  assertFigure(await text(page.getByTestId('embodied-co2e')), summary.total_embodied_co2e_grams, u.embodied_co2e_grams, 'embodied CO2e');
  assertFigure(await text(page.getByTestId('energy')), summary.total_energy_joules, u.energy_joules, 'energy');
  assertMoney(await text(page.getByTestId('cost')), summary.total_cost, 'cost');
  equal(await text(page.getByTestId('pods')), `${summary.pod_count} pods`, 'pods');
  const headline = await text(page.getByTestId('headline'));
  assert(headline.startsWith('Over the last 24 hours'), `headline: ${headline}`);
  await assertCharts(2);
  await assertFits();
  await shot('overview');
  assertClean('overview');
});

await check('overview: namespace row and top pod equal the API', async () => {
  const rows = await api('/metrics/by-namespace?last=24h');
  const first = rows[0];
  const row = page.getByTestId('table-namespaces').locator(`tr[data-row="${first.namespace}"]`);
  const cells = row.locator('td');
  assertFigure(await text(cells.nth(0)), first.co2e_grams + first.embodied_co2e_grams, first.uncertainty.total_co2e_all_scopes, `namespace ${first.namespace} CO2e`);
  assertFigure(await text(cells.nth(1)), first.energy_joules, first.uncertainty.energy_joules, `namespace ${first.namespace} energy`);
  assertMoney(await text(cells.nth(2)), first.total_cost, `namespace ${first.namespace} cost`);
  const pods = await api('/metrics/top-pods?last=24h&limit=10');
  const pod = pods[0];
  const podRow = page.getByTestId('table-pods').locator('tbody tr').first();
  equal(await text(podRow.locator('th')), pod.pod_name, 'top pod');
  assertFigure(await text(podRow.locator('td').nth(1)), pod.co2e_grams, pod.uncertainty.co2e_grams, 'top pod operational CO2e');
  assertFigure(await text(podRow.locator('td').nth(2)), pod.co2e_grams + pod.embodied_co2e_grams, pod.uncertainty.total_co2e_all_scopes, 'top pod CO2e with embodied');
});

await check('overview: score and its dimensions equal /score', async () => {
  const score = await api('/score?last=24h');
  const shown = await text(page.getByTestId('score-total'));
  assert(shown.startsWith(score.score.score.toFixed(1)), `score shown ${shown}, API ${score.score.score}`);
  const dimensions = await page.locator('[data-dimension]').count();
  equal(dimensions, score.score.dimensions.length, 'dimensions shown');
});

await check('overview: the range selector is links and changes the figures', async () => {
  await page.locator('a[data-range="7d"]').click();
  await settled();
  assert(page.url().endsWith('/?last=7d'), `URL after choosing 7 days: ${page.url()}`);
  const summary = await api('/metrics/summary?last=7d');
  assertFigure(await text(page.getByTestId('total-co2e')), summary.total_co2e_all_scopes, summary.uncertainty.total_co2e_all_scopes, 'total CO2e over 7 days');
  for (const metric of ['energy', 'cost', 'co2e']) {
    await page.locator(`button[data-metric="${metric}"]`).click();
    await assertCharts(2);
  }
  await shot('overview-7d');
  assertClean('overview 7d');
});

await check('keyboard: skip link, visible focus, links reachable with Tab', async () => {
  await open('/');
  await page.keyboard.press('Tab');
  equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content', 'first Tab stop');
  await page.keyboard.press('Tab');
  const focus = await page.evaluate(() => {
    const el = document.activeElement;
    const style = el ? getComputedStyle(el) : null;
    return { tag: el?.tagName, outline: style?.outlineStyle, width: style?.outlineWidth };
  });
  equal(focus.tag, 'A', 'second Tab stop');
  assert(focus.outline !== 'none' && focus.width !== '0px', `focus is not visible: ${JSON.stringify(focus)}`);
  // Reach "Nodes" in the sidebar with the keyboard and follow it.
  for (let i = 0; i < 10; i += 1) {
    if ((await page.evaluate(() => document.activeElement?.textContent)) === 'Nodes') break;
    await page.keyboard.press('Tab');
  }
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/nodes`);
  await settled();
  assertClean('keyboard');
});

await check('namespaces: list and drill-down equal the API', async () => {
  await open('/namespaces');
  const rows = await api('/metrics/by-namespace?last=24h');
  equal(await page.getByTestId('table-namespaces').locator('tbody tr').count(), rows.length, 'namespace rows');
  await assertCharts(1);
  await shot('namespaces');
  const name = rows[1].namespace;
  await page.getByTestId('table-namespaces').getByRole('link', { name, exact: true }).click();
  await page.waitForURL(`${base}/namespaces/${name}`);
  await settled();
  const summary = await api(`/metrics/summary?last=24h&namespace=${name}`);
  assertFigure(await text(page.getByTestId('total-co2e')), summary.total_co2e_all_scopes, summary.uncertainty.total_co2e_all_scopes, `namespace ${name} total`);
  await assertCharts(1);
  await assertFits();
  await shot(`namespace-${name}`);
  assertClean('namespaces');
});

await check('empty state: a namespace without data says what to do', async () => {
  await open('/namespaces/no-such-namespace');
  const empty = await page.locator('.state-empty').first().innerText();
  assert(/No data for namespace no-such-namespace/.test(empty) && /greenkube collect/.test(empty), `empty state: ${empty}`);
  await shot('empty-namespace');
  assertClean('empty namespace');
});

await check('nodes: count, table and chart equal /nodes', async () => {
  await open('/nodes');
  const nodes = await api('/nodes');
  equal(await text(page.getByTestId('node-count')), String(nodes.length), 'node count');
  equal(await page.getByTestId('table-nodes').locator('tbody tr').count(), nodes.length, 'node rows');
  await assertCharts(1);
  await assertFits();
  await shot('nodes');
  assertClean('nodes');
});

let recs = [];
await check('recommendations: a scan from the page saves what the API lists, savings shown equal', async () => {
  await open('/recommendations');
  if ((await page.getByTestId('scan-empty').count()) > 0) {
    await page.getByTestId('scan-empty').click();
    await page.getByTestId('rec-status').filter({ hasText: 'Scan done' }).waitFor({ timeout: 120_000 });
    await settled();
  }
  recs = await api('/recommendations/active');
  assert(recs.length >= 3, `expected recommendations after the scan, the API has ${recs.length}`);
  const best = [...recs].sort((a, b) => b.potential_savings_co2e_grams - a.potential_savings_co2e_grams)[0];
  const card = page.locator(`article[data-id="${best.id}"]`);
  assertFigure(await text(card.getByTestId('rec-co2')), best.potential_savings_co2e_grams, best.potential_savings_co2e_grams_interval, 'savings of the first recommendation');
  const withCost = recs.find((r) => r.potential_savings_cost !== null);
  await page.getByTestId('filter-namespace').selectOption(withCost.namespace ?? '_cluster');
  const costCard = page.locator(`article[data-id="${withCost.id}"]`);
  assertMoney(await text(costCard.getByTestId('rec-cost')), withCost.potential_savings_cost, 'cost savings of a recommendation');
  await page.getByTestId('filter-namespace').selectOption('');
  await assertFits();
  await shot('recommendations');
  assertClean('recommendations');
});

await check('recommendations: filter by type', async () => {
  const type = recs[0].type;
  await page.getByTestId('filter-type').selectOption(type);
  const expected = recs.filter((r) => r.type === type).length;
  const shown = await page.locator('article[data-id]').count();
  equal(shown, Math.min(expected, 10), `cards of type ${type}`);
  assert(page.url().includes(`type=${type}`), `the filter is in the URL: ${page.url()}`);
  await page.getByTestId('filter-type').selectOption('');
});

let applied;
await check('recommendations: mark as applied through the dialog, checked against the API', async () => {
  applied = recs.find((r) => r.recommended_cpu_request_millicores !== null) ?? recs[0];
  const card = page.locator(`article[data-id="${applied.id}"]`);
  if ((await card.count()) === 0) {
    await page.getByTestId('filter-type').selectOption(applied.type);
  }
  await card.locator('button[data-action="apply"]').click();
  await page.getByTestId('apply-dialog').waitFor({ state: 'visible' });
  await shot('recommendations-apply-dialog', false);
  await page.getByTestId('apply-confirm').click();
  await page.getByTestId('rec-status').filter({ hasText: 'Marked' }).waitFor();
  await page.getByTestId('apply-dialog').waitFor({ state: 'hidden' });
  const appliedList = await api('/recommendations/applied');
  const record = appliedList.find((r) => r.id === applied.id);
  assert(record && record.status === 'applied', `the API does not list ${applied.id} as applied`);
  if (applied.recommended_cpu_request_millicores !== null) {
    equal(record.actual_cpu_request_millicores, Math.round(applied.recommended_cpu_request_millicores), 'CPU request recorded');
  }
  assert(!(await api('/recommendations/active')).some((r) => r.id === applied.id), 'still active in the API');
  equal(await page.locator(`article[data-id="${applied.id}"]`).count(), 0, 'cards of the applied recommendation under To do');
  await page.locator('a[data-tab="applied"]').click();
  await settled();
  const appliedCard = page.locator(`article[data-id="${applied.id}"]`);
  await appliedCard.waitFor();
  const savings = await api('/recommendations/savings');
  assertFigure(
    (await text(page.getByTestId('applied-total'))).replace(/^.*saving (.*?) CO2e.*$/s, '$1'),
    savings.total_carbon_saved_co2e_grams,
    null,
    'realised savings',
  );
  await shot('recommendations-applied');
  assertClean('apply');
});

let ignored;
const reason = 'Handled by the platform team next quarter';
await check('recommendations: ignore with a reason (keyboard only), checked against the API', async () => {
  await open('/recommendations');
  const active = await api('/recommendations/active');
  ignored = [...active].sort((a, b) => b.potential_savings_co2e_grams - a.potential_savings_co2e_grams)[0];
  const button = page.locator(`article[data-id="${ignored.id}"] button[data-action="ignore"]`);
  await button.focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('ignore-dialog').waitFor({ state: 'visible' });
  // Submitting without a reason is refused with a message.
  await page.getByTestId('ignore-confirm').focus();
  await page.keyboard.press('Enter');
  const error = await text(page.getByTestId('ignore-dialog').locator('.dialog-error'));
  assert(/Give a reason/.test(error), `no message for a missing reason: ${error}`);
  equal(await page.evaluate(() => document.activeElement?.id), 'ignore-reason', 'focus after a missing reason');
  await page.keyboard.type(reason);
  await shot('recommendations-ignore-dialog', false);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.getByTestId('rec-status').filter({ hasText: 'Ignored' }).waitFor();
  const list = await api('/recommendations/ignored');
  const record = list.find((r) => r.id === ignored.id);
  assert(record, `the API does not list ${ignored.id} as ignored`);
  equal(record.ignored_reason, reason, 'reason kept by the API');
  await page.locator('a[data-tab="ignored"]').click();
  await settled();
  const card = page.locator(`article[data-id="${ignored.id}"]`);
  const shown = await text(card.getByTestId('ignored-reason'));
  assert(shown.includes(reason), `the reason is not shown: ${shown}`);
  await shot('recommendations-ignored');
  assertClean('ignore');
});

await check('recommendations: restore an ignored one, checked against the API', async () => {
  await page.locator(`article[data-id="${ignored.id}"] button[data-action="restore"]`).click();
  await page.getByTestId('rec-status').filter({ hasText: 'Restored' }).waitFor();
  const active = await api('/recommendations/active');
  assert(active.some((r) => r.id === ignored.id), `${ignored.id} is not active again in the API`);
  assert(!(await api('/recommendations/ignored')).some((r) => r.id === ignored.id), 'still ignored in the API');
  equal(await page.locator(`article[data-id="${ignored.id}"]`).count(), 0, 'card left under Ignored');
  assertClean('restore');
});

async function download(format) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`download-${format}`).click()]);
  const target = path.join(profile, `${format}-${file.suggestedFilename()}`);
  await file.saveAs(target);
  assert(file.suggestedFilename().endsWith(`.${format}`), `file name ${file.suggestedFilename()}`);
  return fs.readFileSync(target, 'utf8');
}

await check('report: preview equals /report/summary, CSV download of the raw rows', async () => {
  await open('/report');
  await page.locator('#report-last').selectOption('1h');
  await page.getByTestId('download-csv').waitFor();
  await settled();
  const summary = await api('/report/summary?last=1h');
  assertFigure(await text(page.getByTestId('report-total')), summary.total_co2e_all_scopes, summary.uncertainty.total_co2e_all_scopes, 'report total');
  equal(await text(page.getByTestId('report-rows')), summary.total_rows.toLocaleString('en-US'), 'rows in the preview');
  const csv = await download('csv');
  const lines = csv.trim().split('\n');
  assert(lines[0].startsWith('cluster,namespace,pod_name,timestamp'), `CSV header: ${lines[0]}`);
  equal(lines.length - 1, summary.total_rows, 'CSV rows');
  await shot('report');
  assertClean('report csv');
});

await check('report: daily totals by namespace as JSON', async () => {
  await page.locator('#report-last').selectOption('7d');
  await page.getByTestId('report-granularity').selectOption('daily');
  await page.getByTestId('report-group').selectOption('namespace');
  await settled();
  await page.getByTestId('download-json').waitFor();
  const summary = await api('/report/summary?last=7d&aggregate=true&granularity=daily&group_by=namespace');
  equal(await text(page.getByTestId('report-rows')), summary.total_rows.toLocaleString('en-US'), 'rows in the preview');
  const rows = JSON.parse(await download('json'));
  equal(rows.length, summary.total_rows, 'JSON rows');
  assert(rows.every((r) => r.period && r.namespace && Array.isArray(r.uncertainty?.co2e_grams)), 'JSON rows have period, namespace and intervals');
  const total = rows.reduce((sum, r) => sum + r.co2e_grams + r.embodied_co2e_grams, 0);
  assert(Math.abs(total - summary.total_co2e_all_scopes) < 1e-6 * summary.total_co2e_all_scopes, `JSON total ${total} vs ${summary.total_co2e_all_scopes}`);
  assert(page.url().includes('granularity=daily'), `the choice is in the URL: ${page.url()}`);
  await shot('report-daily');
  assertClean('report json');
});

await check('settings: sources, store, methodology, data version and version equal the API', async () => {
  await open('/settings');
  const [config, health] = await Promise.all([api('/config'), api('/health/services')]);
  const sources = page.getByTestId('sources').locator('[data-source]');
  equal(await sources.count(), Object.keys(health.services).length, 'sources shown');
  const configText = await text(page.getByTestId('config'));
  for (const value of [config.store, config.methodology, config.data_version, config.version]) {
    assert(configText.includes(value), `settings do not show ${value}`);
  }
  await assertFits();
  await shot('settings');
  assertClean('settings');
});

await check('an unknown page says so and links home', async () => {
  await open('/no/such/page');
  const shown = await text(page.locator('main'));
  assert(/This page does not exist/.test(shown), `not-found page: ${shown}`);
  await shot('not-found');
  assertClean('not found');
});

if (emptyBase) {
  await check('empty store: the overview says what to run, once', async () => {
    await page.goto(`${emptyBase}/`, { waitUntil: 'domcontentloaded' });
    await settled();
    const shown = await text(page.locator('main'));
    assert(/no data yet/.test(shown) && /greenkube collect/.test(shown), `empty overview: ${shown}`);
    equal(await page.locator('.state-empty').count(), 1, 'empty states on the overview');
    equal(await page.locator('.chart').count(), 0, 'charts without data');
    await shot('overview-empty');
    assertClean('empty overview');
  });

  await check('read-only server: changes are offered disabled', async () => {
    await page.goto(`${emptyBase}/recommendations`, { waitUntil: 'domcontentloaded' });
    await settled();
    const apply = page.locator('button[data-action="apply"]');
    assert((await apply.count()) > 0, 'no recommendation shown');
    assert(await apply.first().isDisabled(), 'apply is enabled on a read-only server');
    assert(await page.getByTestId('scan').isDisabled(), 'scan is enabled on a read-only server');
    await page.goto(`${emptyBase}/settings`, { waitUntil: 'domcontentloaded' });
    await settled();
    assert((await text(page.getByTestId('config'))).includes('refused (read-only)'), 'settings do not say read-only');
    assertClean('read-only');
  });
}

if (keyBase && key) {
  await check('API key: the dashboard says where to enter it, then works with it (downloads too)', async () => {
    await page.goto(`${keyBase}/`, { waitUntil: 'domcontentloaded' });
    await settled().catch(() => undefined);
    const shown = await text(page.locator('main'));
    assert(/asks for an API key/.test(shown) && /Settings/.test(shown), `no word about the key: ${shown}`);
    await shot('overview-needs-key', false);
    const refused = problems.splice(0);
    assert(refused.length > 0 && refused.every((p) => /answer 401|status of 401/.test(p)), `other problems than 401: ${refused.join(' | ')}`);
    await page.goto(`${keyBase}/settings`, { waitUntil: 'domcontentloaded' });
    await page.locator('#api-key').fill(key);
    await page.locator('#api-key').press('Enter');
    await settled();
    assert((await text(page.getByTestId('config'))).includes('required'), 'settings do not say the key is required');
    problems.splice(0);
    await page.goto(`${keyBase}/`, { waitUntil: 'domcontentloaded' });
    await settled();
    const summary = await (await fetch(`${keyBase}/api/v1/metrics/summary?last=24h`, { headers: { Authorization: `Bearer ${key}` } })).json();
    assertFigure(await text(page.getByTestId('total-co2e')), summary.total_co2e_all_scopes, summary.uncertainty.total_co2e_all_scopes, 'total CO2e with the key');
    await page.goto(`${keyBase}/report`, { waitUntil: 'domcontentloaded' });
    await settled();
    await page.locator('#report-last').selectOption('1h');
    await settled();
    const csv = await download('csv');
    assert(csv.startsWith('cluster,namespace,pod_name'), `CSV fetched with the key: ${csv.slice(0, 80)}`);
    assertClean('API key');
    await page.evaluate(() => localStorage.removeItem('greenkube.apiKey'));
  });
}

await check('nothing was fetched from another host', async () => {
  assert(external.length === 0, `requests to other hosts: ${external.join(', ')}`);
});

await context.close();
fs.rmSync(profile, { recursive: true, force: true });

console.log(`\nscreenshots in ${shots}`);
if (failures.length) console.log(`failed: ${failures.join('; ')}`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);

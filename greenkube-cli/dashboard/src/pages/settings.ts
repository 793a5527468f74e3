// Settings: the sources and their health, the store, the methodology and data version, the
// version, the API documentation, and the API key this browser sends.

import { apiKey, get, setApiKey, type Config, type ServicesHealth } from '../api';
import { forgetConfig, pageHeader, type Ctx } from '../app';
import { card, code, h } from '../dom';
import { dateTime, fixed } from '../format';
import { SOURCE_LABELS, STATUS_LABELS } from '../labels';
import { section } from '../widgets';

/** `/settings`. */
export function settings(ctx: Ctx): void {
  const health = h('div', { class: 'slot' });
  const config = h('div', { class: 'slot' });
  const recheck = h('button', { type: 'button', class: 'button', 'data-testid': 'recheck' }, 'Check again');
  ctx.main.append(
    pageHeader('Settings', 'Where the figures come from, how they are computed, and this server.'),
    h(
      'section',
      { class: 'card card-wide', 'aria-labelledby': 'card-sources' },
      h('div', { class: 'card-head' }, h('h2', { id: 'card-sources' }, 'Sources'), recheck),
      health,
    ),
    card('Store and methodology', { class: 'card card-wide' }, config),
    card('API key', { class: 'card card-wide' }, keyForm(ctx)),
  );
  const loadHealth = (): void =>
    section(
      ctx,
      health,
      () => get<ServicesHealth>('/health/services'),
      (h2) => healthView(h2),
      'Checking the sources',
    );
  recheck.addEventListener('click', loadHealth);
  loadHealth();
  section(ctx, config, () => get<Config>('/config'), configView, 'Loading the configuration');
}

function healthView(health: ServicesHealth): HTMLElement {
  const services = Object.values(health.services);
  return h(
    'div',
    null,
    h(
      'p',
      { class: 'note' },
      'The sources ',
      code('greenkube collect'),
      ' reads. The dashboard reads the store only: a source that is down stops new data, not this page. Configure them with ',
      code('greenkube collect --help'),
      ' or the configuration file.',
    ),
    h(
      'ul',
      { class: 'sources', 'data-testid': 'sources' },
      services.map((s) => {
        const [name, role] = SOURCE_LABELS[s.name] ?? [s.name, ''];
        return h(
          'li',
          { class: `source source-${s.status}`, 'data-source': s.name },
          h(
            'div',
            { class: 'source-head' },
            h('span', { class: 'dot', 'aria-hidden': 'true' }),
            h('strong', null, name),
            h('span', { class: `pill pill-${s.status}` }, STATUS_LABELS[s.status] ?? s.status),
          ),
          h('p', { class: 'source-role' }, role),
          h('p', { class: 'source-message' }, s.message),
          h(
            'p',
            { class: 'source-facts' },
            s.url ? [h('span', { class: 'mono' }, s.url), ' · '] : null,
            s.latency_ms !== null ? `${fixed(s.latency_ms, 0)} ms · ` : null,
            s.configured ? 'configured' : s.discovered ? 'discovered' : 'not configured',
            ` · checked ${dateTime(s.last_check)}`,
          ),
        );
      }),
    ),
  );
}

function configView(config: Config): HTMLElement {
  const rows: [string, string | HTMLElement, string][] = [
    ['Version', config.version, 'greenkube version of this server'],
    ['Store', h('span', { class: 'mono' }, config.store), `${config.db_type} database the figures are read from`],
    ['Methodology', config.methodology, 'how energy, CO2e and cost are estimated'],
    ['Data version', h('span', { class: 'mono' }, config.data_version), 'version of the reference data (power profiles, grid intensities, embodied emissions)'],
    ['Cluster', config.cluster, 'cluster name of the metrics'],
    ['Default grid intensity', `${fixed(config.default_intensity, 0)} gCO2e/kWh`, 'used where the zone is not known'],
    ['Default PUE', fixed(config.default_pue, 2), 'data-centre overhead where the provider is not known'],
    ['Changes', config.read_only ? 'refused (read-only)' : 'allowed', 'apply, ignore and scans from this dashboard'],
    ['API key', config.api_key_required ? 'required' : 'not required', 'for the API under /api/v1'],
    ['Started', dateTime(config.started_at), 'when this server started'],
  ];
  return h(
    'div',
    null,
    h(
      'dl',
      { class: 'config', 'data-testid': 'config' },
      rows.map(([label, value, help]) =>
        h('div', { 'data-key': label }, h('dt', null, label), h('dd', null, value, h('span', { class: 'help' }, help))),
      ),
    ),
    h(
      'p',
      { class: 'note' },
      'The API is documented at ',
      h('a', { href: '/api/v1/docs' }, '/api/v1/docs'),
      ' (OpenAPI: ',
      h('a', { href: '/api/v1/openapi.json' }, '/api/v1/openapi.json'),
      '). Every figure comes with its low and high estimate.',
    ),
  );
}

function keyForm(ctx: Ctx): HTMLElement {
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', value: apiKey() ?? '' });
  const status = h('p', { class: 'note', role: 'status' }, apiKey() ? 'A key is kept in this browser.' : 'No key is kept in this browser.');
  const save = h('button', { type: 'submit', class: 'button button-primary' }, 'Keep the key');
  const clear = h('button', { type: 'button', class: 'button' }, 'Forget the key');
  clear.addEventListener('click', () => {
    setApiKey(null);
    input.value = '';
    forgetConfig();
    status.textContent = 'The key is forgotten.';
  });
  return h(
    'form',
    {
      class: 'key-form',
      onsubmit: (event) => {
        event.preventDefault();
        setApiKey(input.value.trim() || null);
        forgetConfig();
        status.textContent = input.value.trim() ? 'The key is kept in this browser and sent with every request.' : 'No key is kept.';
        ctx.refresh();
      },
    },
    h('p', { class: 'note' }, 'Only when the server was started with an API key: the key is kept in this browser (local storage) and sent as a bearer token.'),
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input),
    h('div', { class: 'dialog-buttons' }, save, clear),
    status,
  );
}

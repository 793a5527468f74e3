// The greenkube API under /api/v1: typed answers, the API key (kept in this browser when the
// server asks for one), and errors turned into sentences that say what to do.

import type { Interval } from './format';

/** Intervals of the figures beside them. */
export interface Intervals {
  co2e_grams: Interval;
  embodied_co2e_grams: Interval;
  total_co2e_all_scopes: Interval;
  energy_joules: Interval;
}

/** Rows summed, estimated and without cost. */
export interface Coverage {
  rows: number;
  estimated_rows: number;
  rows_without_cost: number;
}

/** `/metrics/summary`. */
export interface Summary {
  total_co2e_grams: number;
  total_embodied_co2e_grams: number;
  total_co2e_all_scopes: number;
  total_cost: number;
  total_energy_joules: number;
  pod_count: number;
  namespace_count: number;
  uncertainty: Intervals;
  coverage: Coverage;
  start: string;
  end: string;
}

/** One bucket of `/metrics/timeseries`. */
export interface Point {
  timestamp: string;
  co2e_grams: number;
  embodied_co2e_grams: number;
  total_co2e_all_scopes: number;
  total_cost: number;
  joules: number;
  namespace_count: number;
  uncertainty: Intervals;
}

/** A row of `/metrics/by-namespace`. */
export interface NamespaceRow {
  namespace: string;
  co2e_grams: number;
  embodied_co2e_grams: number;
  total_cost: number;
  energy_joules: number;
  uncertainty: Intervals;
  coverage: Coverage;
}

/** A row of `/metrics/top-pods`. */
export interface PodRow extends NamespaceRow {
  pod_name: string;
}

/** A dimension of the sustainability score. */
export interface ScoreDimension {
  name: string;
  score: number;
  weight: number;
  has_data: boolean;
  detail: string;
}

/** `/score`. */
export interface ScoreView {
  score: { score: number; dimensions: ScoreDimension[]; pods?: number; rows?: number };
  windows: number;
}

/** A node of `/nodes`. */
export interface NodeInfo {
  name: string;
  instance_type: string | null;
  zone: string | null;
  region: string | null;
  cloud_provider: string | null;
  architecture: string | null;
  node_pool: string | null;
  cpu_capacity_cores: number | null;
  memory_capacity_bytes: number | null;
  cluster: string | null;
}

/** A saved recommendation. */
export interface Recommendation {
  id: string;
  type: string;
  description: string;
  reason: string;
  priority: 'high' | 'medium' | 'low';
  scope: string;
  namespace: string | null;
  pod_name: string | null;
  target: string;
  target_kind: string | null;
  target_node: string | null;
  potential_savings_co2e_grams: number;
  potential_savings_co2e_grams_interval: Interval;
  potential_savings_cost: number | null;
  current_cpu_request_millicores: number | null;
  recommended_cpu_request_millicores: number | null;
  current_memory_request_bytes: number | null;
  recommended_memory_request_bytes: number | null;
  cron_schedule: string | null;
  savings_basis: string;
  status: 'active' | 'applied' | 'ignored' | 'stale';
  created_at: string;
  updated_at: string;
  applied_at: string | null;
  ignored_at: string | null;
  ignored_reason: string | null;
  carbon_saved_co2e_grams: number | null;
  cost_saved: number | null;
}

/** `/recommendations/savings`. */
export interface Savings {
  total_carbon_saved_co2e_grams: number;
  total_cost_saved: number;
  applied_count: number;
  namespace_breakdown: { namespace: string; carbon_saved_co2e_grams: number; cost_saved: number; count: number }[];
  basis: string;
}

/** `/report/summary`. */
export interface ReportSummary {
  total_rows: number;
  total_co2e_grams: number;
  total_embodied_co2e_grams: number;
  total_co2e_all_scopes: number;
  total_cost: number;
  total_energy_joules: number;
  unique_pods: number;
  unique_namespaces: number;
  uncertainty: Intervals;
  coverage: Coverage;
}

/** `/config`. */
export interface Config {
  db_type: string;
  store: string;
  methodology: string;
  data_version: string;
  version: string;
  read_only: boolean;
  api_key_required: boolean;
  cluster: string;
  started_at: string;
  default_intensity: number;
  default_pue: number;
}

/** One source of `/health/services`. */
export interface ServiceHealth {
  name: string;
  status: 'healthy' | 'degraded' | 'unreachable' | 'unconfigured' | string;
  url: string | null;
  message: string;
  latency_ms: number | null;
  last_check: string;
  configured: boolean;
  discovered: boolean;
}

/** `/health/services`. */
export interface ServicesHealth {
  status: string;
  version: string;
  services: Record<string, ServiceHealth>;
}

/** An answer other than 2xx, or no answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const KEY_STORAGE = 'greenkube.apiKey';

/** The API key this browser sends, if one was entered in Settings. */
export function apiKey(): string | null {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

/** Keeps (or, with null, forgets) the API key in this browser. */
export function setApiKey(key: string | null): void {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage refused (private mode): the key is not kept.
  }
}

/** Query values; arrays repeat the key, empty values are left out. */
export type Query = Record<string, string | number | boolean | null | undefined | (string | number)[]>;

/** `/api/v1` + `path` + the query string. */
export function apiUrl(path: string, query: Query = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === '') continue;
    if (Array.isArray(value)) for (const v of value) search.append(key, String(v));
    else search.append(key, String(value));
  }
  const text = search.toString();
  return `/api/v1${path}${text ? `?${text}` : ''}`;
}

function headers(json: boolean): Headers {
  const result = new Headers({ Accept: 'application/json' });
  if (json) result.set('Content-Type', 'application/json');
  const key = apiKey();
  if (key) result.set('Authorization', `Bearer ${key}`);
  return result;
}

async function explain(response: Response): Promise<ApiError> {
  let detail = '';
  try {
    const body: unknown = await response.json();
    if (body && typeof body === 'object' && 'detail' in body) detail = String((body as { detail: unknown }).detail);
  } catch {
    // Not JSON: the status says enough.
  }
  let message: string;
  switch (response.status) {
    case 401:
      message = 'this server asks for an API key: enter it under Settings → API key.';
      break;
    case 403:
      message = detail || 'the server refused the change (it may be read-only).';
      break;
    case 429:
      message = `too many requests: wait ${response.headers.get('Retry-After') ?? 'a few'} seconds and try again.`;
      break;
    default:
      message = detail || `the server answered ${response.status} ${response.statusText}.`;
  }
  return new ApiError(response.status, message);
}

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'the greenkube server does not answer: is `greenkube serve` still running?');
  }
  if (!response.ok) throw await explain(response);
  return (await response.json()) as T;
}

/** GET a JSON answer. */
export function get<T>(path: string, query: Query = {}): Promise<T> {
  return call<T>('GET', apiUrl(path, query));
}

/** PATCH, DELETE or POST, with an optional JSON body. */
export function send<T>(method: 'PATCH' | 'DELETE' | 'POST', path: string, body?: unknown): Promise<T> {
  return call<T>(method, apiUrl(path), body);
}

/** The message of any error, for a person. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

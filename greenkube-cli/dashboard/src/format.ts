// Numbers as a person reads them: units chosen from the magnitude (g, kg, t CO2e; J, Wh, kWh,
// MWh), a precision that depends on the size, and the interval beside the figure in the same
// unit: "12.3 kg (9.8–15.1)". Formatting is fixed to en-US so that what the dashboard shows does
// not depend on the browser.

/** `[low, high]`, as the API sends intervals. */
export type Interval = [number, number];

const LOCALE = 'en-US';

/** -0 (which the API may send for empty sums) as 0. */
export function clean(value: number): number {
  return value === 0 || !Number.isFinite(value) ? 0 : value;
}

/** Decimals shown for a value of this size: 3 significant digits up to 100, whole numbers above. */
export function decimalsFor(value: number): number {
  const a = Math.abs(value);
  if (a === 0 || a >= 100) return 0;
  if (a >= 10) return 1;
  if (a >= 1) return 2;
  return Math.min(4, 1 - Math.floor(Math.log10(a)));
}

const formats = new Map<number, Intl.NumberFormat>();

/** `value` with `decimals` decimals and thousands separators. */
export function fixed(value: number, decimals: number): string {
  let format = formats.get(decimals);
  if (!format) {
    format = new Intl.NumberFormat(LOCALE, {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
    formats.set(decimals, format);
  }
  const text = format.format(clean(value));
  // Rounding can still give "-0.0".
  return /^-0(\.0+)?$/.test(text) ? text.slice(1) : text;
}

/** A plain number at the precision of its size. */
export function num(value: number): string {
  return fixed(value, decimalsFor(value));
}

/** A whole count, with separators. */
export function count(value: number): string {
  return fixed(Math.round(value), 0);
}

/** A unit and how many base units it is. */
export interface Unit {
  unit: string;
  factor: number;
}

/** The unit of a mass in grams: g below 1 kg, kg below 1 t, t above. */
export function massUnit(grams: number): Unit {
  const a = Math.abs(grams);
  if (a < 1e3) return { unit: 'g', factor: 1 };
  if (a < 1e6) return { unit: 'kg', factor: 1e3 };
  return { unit: 't', factor: 1e6 };
}

/** The unit of an energy in joules: J, Wh, kWh, MWh. */
export function energyUnit(joules: number): Unit {
  const a = Math.abs(joules);
  if (a < 3.6e3) return { unit: 'J', factor: 1 };
  if (a < 3.6e6) return { unit: 'Wh', factor: 3.6e3 };
  if (a < 3.6e9) return { unit: 'kWh', factor: 3.6e6 };
  return { unit: 'MWh', factor: 3.6e9 };
}

function withInterval(value: number, unit: Unit, interval?: Interval | null): string {
  const scaled = value / unit.factor;
  const decimals = decimalsFor(scaled);
  const main = `${fixed(scaled, decimals)} ${unit.unit}`;
  if (!interval) return main;
  const [low, high] = interval;
  return `${main} (${fixed(low / unit.factor, decimals)}–${fixed(high / unit.factor, decimals)})`;
}

/** A CO2e mass in grams, with its interval: "12.3 kg (9.8–15.1)". */
export function mass(grams: number, interval?: Interval | null): string {
  return withInterval(grams, massUnit(grams), interval);
}

/** An energy in joules, with its interval: "2.43 kWh (1.91–3.00)". */
export function energy(joules: number, interval?: Interval | null): string {
  return withInterval(joules, energyUnit(joules), interval);
}

const currency = new Intl.NumberFormat(LOCALE, {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

/** Money with 2 decimals: "$1,234.56". */
export function money(value: number): string {
  return currency.format(clean(value)).replace(/^-\$0\.00$/, '$0.00');
}

/** Money, or what to say when it is not known. */
export function moneyOrUnknown(value: number | null | undefined, unknown = 'unknown'): string {
  return value === null || value === undefined ? unknown : money(value);
}

/** A share as a percentage with one decimal. */
export function percent(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  return `${fixed((100 * part) / whole, 1)}%`;
}

/** Bytes in GiB (or MiB below 1 GiB). */
export function bytes(value: number): string {
  const gib = value / 2 ** 30;
  if (Math.abs(gib) >= 1) return `${num(gib)} GiB`;
  return `${num(value / 2 ** 20)} MiB`;
}

/** CPU in millicores: "250 m", or cores from 1 000 m: "2.00 cores". */
export function millicores(value: number): string {
  if (Math.abs(value) >= 1000) return `${num(value / 1000)} cores`;
  return `${fixed(value, 0)} m`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** An instant in UTC: "2026-05-31 14:00 UTC". */
export function dateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** A day in UTC: "31 May 2026". */
export function day(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** A chart label of a bucket start, in UTC, as precise as the bucket. */
export function bucketLabel(iso: string, granularity: 'hour' | 'day' | 'week' | 'month'): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const date = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  switch (granularity) {
    case 'hour':
      return `${date} ${pad(d.getUTCHours())}:00`;
    case 'month':
      return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    default:
      return date;
  }
}

/** RFC 3339 date-time: `2026-01-02T03:04:05Z`, optional fraction, `Z` or a `+hh:mm` offset. No nested quantifiers. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * The instant an RFC 3339 timestamp names, as UTC to the second (`2026-01-02T03:04:05Z`, what the API
 * server writes for creationTimestamp), so timestamps compare as strings whatever offset they were written
 * with. Undefined for anything else, February 30th and hour 24 included.
 */
export function parseTimestamp(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 40) return undefined;
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59 || Number(m[9] ?? 0) > 23 || Number(m[10] ?? 0) > 59) return undefined;
  // what the API server writes (and the watcher publishes) is already canonical: no Date needed
  if (value.length === 20 && value[10] === 'T' && value[19] === 'Z') return day <= daysIn(year, month) && year >= 1 ? value : undefined;
  const offsetMinutes = m[7] ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day); // not Date.UTC: it reads years 0-99 as 1900-1999
  local.setUTCHours(hour, minute, second, 0);
  if (local.getUTCDate() !== day) return undefined; // day past the end of its month
  const utc = new Date(local.getTime() - offsetMinutes * 60_000);
  if (utc.getUTCFullYear() < 1 || utc.getUTCFullYear() > 9999) return undefined;
  return utc.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

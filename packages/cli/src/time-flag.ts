import { UsageError } from './io.js';

/**
 * A point in time given on the command line: an RFC 3339 timestamp (`2026-12-03T12:03:00Z`, offsets
 * allowed), or a time of day `HH:MM[:SS]` meaning the most recent such moment in UTC (the stream's clock),
 * or a duration ago (`90s`, `15m`, `2h`, `1d`). Pure: `nowMs` is given.
 */
export function parseTimeFlag(flag: string, text: string, nowMs: number): number {
  const ago = /^(\d{1,9})(s|m|h|d)$/.exec(text);
  if (ago) return nowMs - Number(ago[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's' | 'm' | 'h' | 'd'];
  const clock = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/.exec(text);
  if (clock) {
    const day = new Date(nowMs);
    const at = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0));
    return at <= nowMs ? at : at - 86_400_000;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`${flag} ${JSON.stringify(text)}: expected an RFC 3339 time (2026-12-03T12:03:00Z), HH:MM[:SS] (UTC, today), or 90s / 15m / 2h / 1d ago`);
}

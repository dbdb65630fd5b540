import type { ApplierRecord, RefusalReason } from '@knp/shared';

/** Why the applier refused a rule set: a check failed (`checkRuleSet`), or the renderer could not print it. */
export type ApplierRefusalReason = RefusalReason | 'unrenderable';

export type RefusedRuleSet = { readonly reason: ApplierRefusalReason; readonly detail: string; readonly source: string };

/** Refusals since start, and when one was last logged (a flood of forgeries logs once per burst). */
export type Refusals = {
  readonly total: number;
  readonly byReason: ReadonlyMap<ApplierRefusalReason, number>;
  readonly last?: RefusedRuleSet & { readonly at: string };
  readonly loggedAtMs?: number;
  /** Refusals since the last one logged. */
  readonly unlogged: number;
};

export const NO_REFUSALS: Refusals = { total: 0, byReason: new Map(), unlogged: 0 };

/** A refusal is logged unless one was logged less than this long ago; the next log line says how many were not. */
export const REFUSAL_BURST_MS = 10_000;

/** Counts one refusal; `log` says whether to log it, `unlogged` how many refusals before it went unlogged. */
export function countRefusal(r: Refusals, refused: RefusedRuleSet, nowMs: number, at: string): { refusals: Refusals; log: boolean; unlogged: number } {
  const byReason = new Map(r.byReason).set(refused.reason, (r.byReason.get(refused.reason) ?? 0) + 1);
  const log = r.loggedAtMs === undefined || nowMs - r.loggedAtMs >= REFUSAL_BURST_MS;
  const base = { total: r.total + 1, byReason, last: { ...refused, at } };
  return log
    ? { refusals: { ...base, loggedAtMs: nowMs, unlogged: 0 }, log, unlogged: r.unlogged }
    : { refusals: { ...base, ...(r.loggedAtMs !== undefined ? { loggedAtMs: r.loggedAtMs } : {}), unlogged: r.unlogged + 1 }, log, unlogged: r.unlogged + 1 };
}

/** The refusals as the status record carries them (reasons sorted, so equal tallies print the same). */
export function refusalsRecord(r: Refusals): ApplierRecord['refused'] {
  if (r.total === 0 || !r.last) return undefined;
  const byReason: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [reason, n] of [...r.byReason].sort(([a], [b]) => (a < b ? -1 : 1))) byReason[reason] = n;
  return { total: r.total, byReason, last: r.last };
}

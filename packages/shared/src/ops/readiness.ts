import { compareVersions, type RuleSetVersion } from '../ruleset.js';
import type { Readiness } from './ops-server.js';

/*
 * The readiness and liveness decisions of the three services: facts in, verdict out. /readyz shows the
 * reason, so each names what is missing.
 */

/** Ready once every kind was listed since the (re)start and everything those lists produced is acknowledged. */
export function watcherReadiness(f: { readonly unlisted: readonly string[]; readonly pending: number; readonly listsPublished: boolean }): Readiness {
  if (f.unlisted.length > 0) return { ready: false, reason: `waiting for the first list of ${f.unlisted.join(', ')}` };
  if (!f.listsPublished && f.pending > 0) return { ready: false, reason: `publishing the first lists: ${f.pending} events pending` };
  return { ready: true, reason: f.pending > 0 ? `lists published, ${f.pending} changes pending` : 'lists published, nothing pending' };
}

/** Ready once the backlog present at the start of the current pass is folded and evaluated. */
export function compilerReadiness(f: { readonly restarting: boolean; readonly caughtUp: boolean; readonly evaluatedSeq: number; readonly backlogEnd: number }): Readiness {
  if (f.restarting) return { ready: false, reason: 'events stream recreated, starting over' };
  if (!f.caughtUp) return { ready: false, reason: `catching up: backlog ends at ${f.backlogEnd}, evaluated up to ${f.evaluatedSeq}` };
  return { ready: true, reason: `caught up, evaluated up to ${f.evaluatedSeq}` };
}

/**
 * Ready once the applier follows its subject and the newest rule set it has seen for its node is in the
 * kernel. A node nothing was published for yet is ready as soon as it follows (there is nothing to enforce).
 */
export function applierReadiness(f: { readonly following: boolean; readonly newest: RuleSetVersion | undefined; readonly inForce: RuleSetVersion | undefined }): Readiness {
  if (!f.following) return { ready: false, reason: 'not following the rules subject yet' };
  if (f.newest === undefined) return { ready: true, reason: 'following; no rule set published for this node yet' };
  const v = `${f.newest.epoch}/${f.newest.seq}`;
  if (f.inForce === undefined || compareVersions(f.inForce, f.newest) < 0)
    return { ready: false, reason: `newest rule set ${v} not in force yet` };
  return { ready: true, reason: `newest rule set ${v} in force` };
}

/**
 * Liveness: a service is wedged when it has had work for `stuckAfterMs` without any progress (a publish
 * attempt ending, an evaluation ending, a rule set handled). Waiting for work, or retrying, is alive.
 */
export function isAlive(f: { readonly busySinceMs: number | undefined; readonly nowMs: number; readonly stuckAfterMs: number }): boolean {
  return f.busySinceMs === undefined || f.nowMs - f.busySinceMs <= f.stuckAfterMs;
}

/** How long work may go without progress before /healthz fails: well past any kernel or NATS timeout we set. */
export const STUCK_AFTER_MS = 5 * 60_000;

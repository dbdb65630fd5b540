/**
 * What one discovery round found of a CRD's kind that the API did not serve: `groupServed` when its
 * group/version answered with a resource list lacking the kind (otherwise the group/version got a 404),
 * and `rounds`, how many rounds in a row (spaced by the restart backoff) found it absent, each with a
 * LIST of the resource answering 404 too.
 */
export type Absence = { readonly rounds: number; readonly groupServed: boolean };

/**
 * What the watcher does about a kind found absent, given how many of its objects the stream holds:
 * - `sync-empty`: nothing published of it (a cluster without the CRD): an empty sync, which lets the
 *   compilers' publish gate open; also a confirmed removal: deletions of those published, then the empty sync.
 * - `wait`: objects are published and the absence is not yet confirmed (one round: API servers answer
 *   transient 404s for a CRD's resources after a restart, or while one of several has not seen the CRD yet).
 *   Publish nothing, discover again after the backoff.
 * - `keep`: the group/version is served without the kind (another version of the CRD?): keep what was
 *   published, mark the kind absent, warn. Never deletes.
 * Deleting every ClusterNetworkPolicy opens what their Deny rules closed: only a confirmed removal does.
 */
export type AbsenceVerdict = 'sync-empty' | 'wait' | 'keep';

/** Rounds in a row an absence must be seen (group/version and LIST both 404) before published objects are deleted. */
export const CONFIRM_ROUNDS = 2;

export function absenceVerdict(published: number, absence: Absence): AbsenceVerdict {
  if (published === 0) return 'sync-empty';
  if (absence.groupServed) return 'keep';
  return absence.rounds >= CONFIRM_ROUNDS ? 'sync-empty' : 'wait';
}

import { compareVersions, type ApplierRecord, type CompilerStatus, type RuleSetVersion } from '@knp/shared';
import type { ClusterFacts } from './records.js';

/** What `knp wait --synced` waits for: the events sequence fixed at the call and, optionally, an API resourceVersion. */
export type SyncCriteria = {
  /** The events stream's last sequence when the command was called. */
  readonly targetSeq: number;
  readonly afterRv?: string;
};

export type NodeJudgement = {
  readonly node: string;
  readonly desired?: { readonly version: RuleSetVersion; readonly hash: string };
  readonly applied?: { readonly version: RuleSetVersion; readonly hash: string; readonly appliedAt?: string };
  /** Versions of the same epoch: desired.seq - applied.seq (0 when in sync); undefined when not comparable. */
  readonly lagSeq?: number;
  readonly heartbeatAgeMs?: number;
  readonly fresh: boolean;
  readonly inSync: boolean;
  readonly error?: string;
};

export type SyncVerdict = {
  readonly synced: boolean;
  /** What is not yet true, one sentence each (empty when synced). */
  readonly waitingFor: readonly string[];
  readonly targetSeq: number;
  readonly watcher: { readonly ok: boolean; readonly resourceVersion?: string; readonly upToDate?: boolean; readonly pending?: number; readonly lastSeq?: number };
  readonly compiler: { readonly ok: boolean; readonly evaluatedSeq?: number; readonly instance?: string };
  readonly nodes: readonly NodeJudgement[];
};

/** A record is fresh while its heartbeat is younger than three periods plus a second of slack. */
export function isFresh(heartbeatAt: string, heartbeatMs: number, nowMs: number): boolean {
  const age = nowMs - Date.parse(heartbeatAt);
  return Number.isFinite(age) && age <= 3 * heartbeatMs + 1_000;
}

/** resourceVersions are opaque; Kubernetes' are integers in practice, compared as such (else only equality counts). */
export function rvAtLeast(seen: string, wanted: string): boolean {
  if (/^\d+$/.test(seen) && /^\d+$/.test(wanted)) return BigInt(seen) >= BigInt(wanted);
  return seen === wanted;
}

/** The newest resourceVersion the watcher recorded over all kinds. */
export function newestResourceVersion(kinds: Readonly<Record<string, { readonly resourceVersion: string }>>): string | undefined {
  let newest: string | undefined;
  for (const { resourceVersion } of Object.values(kinds))
    if (resourceVersion !== '' && (newest === undefined || (rvAtLeast(resourceVersion, newest) && resourceVersion !== newest))) newest = resourceVersion;
  return newest;
}

/**
 * The resourceVersion every kind's watch has reached: the oldest over all kinds ('' for a kind means none).
 * A resourceVersion is the API's global revision, but each kind has its own watch: one kind's watch being
 * past R says nothing of another's events before R, so `--after-rv` needs every kind past it (an idle kind
 * moves on by the bookmarks the API server sends, about once a minute). A kind the API does not serve
 * (`absent`: its CRD is not installed) has no watch and no objects: it is not waited for.
 */
export function oldestResourceVersion(kinds: Readonly<Record<string, { readonly resourceVersion: string; readonly absent?: true }>>): string | undefined {
  let oldest: string | undefined;
  for (const { resourceVersion, absent } of Object.values(kinds)) {
    if (absent === true) continue;
    if (resourceVersion === '') return undefined;
    if (oldest === undefined || (rvAtLeast(oldest, resourceVersion) && resourceVersion !== oldest)) oldest = resourceVersion;
  }
  return oldest;
}

/** Per node: the newest rule set on its subject against what its applier reports. */
export function judgeNodes(facts: ClusterFacts): NodeJudgement[] {
  const appliers = new Map<string, ApplierRecord>(facts.appliers.map((a) => [a.node, a]));
  const desired = new Map(facts.desired.map((d) => [d.node, d]));
  const nodes = [...new Set([...appliers.keys(), ...desired.keys()])].sort();
  return nodes.map((node): NodeJudgement => {
    const a = appliers.get(node), d = desired.get(node);
    const want = d?.version && d.hash ? { version: d.version, hash: d.hash } : undefined;
    const have = a?.version && a.hash ? { version: a.version, hash: a.hash, ...(a.appliedAt ? { appliedAt: a.appliedAt } : {}) } : undefined;
    // the newest rule set is in force when its content is, under its version or a later one
    const inSync = want === undefined ? d?.error === undefined : have !== undefined && have.hash === want.hash && compareVersions(have.version, want.version) >= 0;
    const lagSeq = want && have && want.version.epoch === have.version.epoch ? Math.max(0, want.version.seq - have.version.seq) : want && !have ? undefined : inSync ? 0 : undefined;
    const error = d?.error ?? (a?.error ? `${a.error.kind}: ${a.error.message}` : undefined);
    return {
      node,
      ...(want ? { desired: want } : {}),
      ...(have ? { applied: have } : {}),
      ...(lagSeq !== undefined ? { lagSeq } : {}),
      ...(a ? { heartbeatAgeMs: facts.nowMs - Date.parse(a.heartbeatAt) } : {}),
      fresh: a !== undefined && isFresh(a.heartbeatAt, a.heartbeatMs, facts.nowMs),
      inSync,
      ...(error !== undefined ? { error } : {}),
    };
  });
}

/**
 * `knp wait --synced` (pure): synced once (a) with afterRv, the watcher has seen resourceVersion >= afterRv
 * and has published everything it has seen; (b) a compiler of the stream's epoch has evaluated every event
 * up to the target (the events' last sequence at the call, or the watcher's last publish when that is later,
 * so an API write not yet published when the call was made is waited for); (c) every applier with a fresh
 * heartbeat has its node's newest rule set in force.
 */
export function judgeSync(facts: ClusterFacts, criteria: SyncCriteria): SyncVerdict {
  const waitingFor: string[] = [];
  const epoch = facts.events.epoch;
  if (epoch === undefined) waitingFor.push('the events stream does not exist yet');

  const w = facts.watcher;
  const rv = w ? oldestResourceVersion(w.kinds) : undefined;
  let targetSeq = criteria.targetSeq;
  let watcherOk = true;
  if (criteria.afterRv !== undefined) {
    if (!w) waitingFor.push('no watcher status record');
    else if (w.epoch !== epoch) waitingFor.push(`the watcher's record is of epoch ${w.epoch}, the stream's is ${String(epoch)}`);
    else {
      if (rv === undefined || !rvAtLeast(rv, criteria.afterRv)) waitingFor.push(`every kind's watch has reached resourceVersion ${rv ?? 'none'}, waiting for ${criteria.afterRv}`);
      if (!w.upToDate || w.pending > 0) waitingFor.push(`the watcher has ${w.pending} event(s) not yet published${w.upToDate ? '' : ' or a kind not yet listed'}`);
      targetSeq = Math.max(targetSeq, w.lastSeq);
    }
    watcherOk = waitingFor.length === 0;
  }

  const compilers = facts.compilers.filter((c) => c.epoch === epoch && c.caughtUp);
  const best: CompilerStatus | undefined = compilers.reduce<CompilerStatus | undefined>((b, c) => (b === undefined || c.evaluatedSeq > b.evaluatedSeq ? c : b), undefined);
  const compilerOk = targetSeq === 0 || (best !== undefined && best.evaluatedSeq >= targetSeq);
  if (!compilerOk)
    waitingFor.push(best ? `the compiler has evaluated events up to ${best.evaluatedSeq}, waiting for ${targetSeq}` : `no caught-up compiler of this epoch has a status record (waiting for events up to ${targetSeq})`);

  const nodes = judgeNodes(facts);
  for (const j of nodes) {
    if (!j.fresh || j.inSync) continue;
    const want = j.desired ? `${j.desired.version.seq} (${j.desired.hash.slice(0, 12)})` : 'unreadable';
    const have = j.applied ? `${j.applied.version.seq} (${j.applied.hash.slice(0, 12)})` : 'nothing';
    waitingFor.push(`node ${j.node}: applier has ${have}, newest rule set is ${want}${j.error ? `; ${j.error}` : ''}`);
  }

  return {
    synced: waitingFor.length === 0,
    waitingFor,
    targetSeq,
    watcher: { ok: watcherOk, ...(w ? { resourceVersion: rv, upToDate: w.upToDate, pending: w.pending, lastSeq: w.lastSeq } : {}) },
    compiler: { ok: compilerOk, ...(best ? { evaluatedSeq: best.evaluatedSeq, instance: best.instance } : {}) },
    nodes,
  };
}

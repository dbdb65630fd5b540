import { judgeNodes, newestResourceVersion, type NodeJudgement } from './judge.js';
import type { ClusterFacts } from './records.js';
import { WATCHED_KINDS, type CompilerInputStatus, type CompilerSigningStatus, type WatchedKind } from '@knp/shared';

/** `knp status` as data (pure): one row per service instance and per node. */
export type StatusReport = {
  readonly prefix: string;
  readonly events: { readonly epoch: string | undefined; readonly lastSeq: number };
  readonly watcher?: {
    readonly instance: string; readonly heartbeatAgeMs: number; readonly upToDate: boolean; readonly pending: number;
    readonly resourceVersion?: string; readonly published: number; readonly lastSeq: number; readonly sameEpoch: boolean;
    readonly signingKeyId?: string;
    /** Kinds the API does not serve (a CRD not installed): the watcher synced them empty and keeps discovering. */
    readonly absentKinds: readonly WatchedKind[];
  };
  readonly compilers: readonly {
    readonly instance: string; readonly heartbeatAgeMs: number; readonly caughtUp: boolean; readonly evaluatedSeq: number;
    readonly lagSeq: number; readonly nodes: number; readonly errors: number; readonly sameEpoch: boolean;
    readonly signing?: CompilerSigningStatus; readonly input?: CompilerInputStatus;
  }[];
  readonly rejections: { readonly count: number; readonly items: readonly string[] };
  readonly nodes: readonly (NodeJudgement & {
    readonly backend?: string; readonly kernelWrites?: number; readonly repairs?: number;
    /** Rule sets its applier refused since it started (forged, foreign, unrenderable, ...), and whether it checks signatures. */
    readonly refused?: number; readonly trust?: 'signed' | 'unsigned';
  })[];
  /** Trust problems, one sentence each: rule sets applied or judged without checking who signed them. */
  readonly warnings: readonly string[];
};

export function statusReport(facts: ClusterFacts): StatusReport {
  const age = (at: string): number => facts.nowMs - Date.parse(at);
  const w = facts.watcher;
  const rv = w ? newestResourceVersion(w.kinds) : undefined;
  const appliers = new Map(facts.appliers.map((a) => [a.node, a]));
  return {
    prefix: facts.prefix,
    events: facts.events,
    ...(w
      ? { watcher: { instance: w.instance, heartbeatAgeMs: age(w.heartbeatAt), upToDate: w.upToDate, pending: w.pending, ...(rv ? { resourceVersion: rv } : {}), published: w.published, lastSeq: w.lastSeq, sameEpoch: w.epoch === facts.events.epoch, ...(w.signing ? { signingKeyId: w.signing.keyId } : {}), absentKinds: absentKinds(w.kinds) } }
      : {}),
    compilers: [...facts.compilers]
      .sort((a, b) => a.heartbeatAt < b.heartbeatAt ? 1 : -1)
      .map((c) => ({
        instance: c.instance, heartbeatAgeMs: age(c.heartbeatAt), caughtUp: c.caughtUp, evaluatedSeq: c.evaluatedSeq,
        lagSeq: Math.max(0, facts.events.lastSeq - c.evaluatedSeq), nodes: c.nodes, errors: c.errors, sameEpoch: c.epoch === facts.events.epoch,
        ...(c.signing ? { signing: c.signing } : {}), ...(c.input ? { input: c.input } : {}),
      })),
    rejections: {
      count: facts.rejections?.count ?? 0,
      items: (facts.rejections?.rejections ?? []).map((r) => `${r.object} ${r.field}: ${r.reason}`),
    },
    nodes: judgeNodes(facts).map((j) => {
      const a = appliers.get(j.node);
      return a ? { ...j, backend: a.backend, kernelWrites: a.kernelWrites, repairs: a.repairs, refused: a.refused?.total ?? 0, ...(a.trust ? { trust: a.trust } : {}) } : j;
    }),
    warnings: trustWarnings(facts),
  };
}

/** The watched kinds a status record marks absent (only names we know: the record is read from the bucket). */
function absentKinds(kinds: unknown): WatchedKind[] {
  const record = typeof kinds === 'object' && kinds !== null ? (kinds as Record<string, unknown>) : {};
  return WATCHED_KINDS.filter((k) => Object.hasOwn(record, k) && (record[k] as { absent?: unknown } | null)?.absent === true);
}

/** Where signatures go unchecked: this command (no trusted keys given) and appliers that run unsigned. */
export function trustWarnings(facts: ClusterFacts): string[] {
  const out: string[] = [];
  if (facts.verified === false) out.push('rule sets not verified: KNP_TRUSTED_COMPILER_KEYS is not set for this command');
  const unsigned = facts.appliers.filter((a) => a.trust === 'unsigned').map((a) => safe(a.node)).sort();
  if (unsigned.length > 0) out.push(`applier(s) applying unsigned rule sets (no KNP_TRUSTED_COMPILER_KEYS): ${unsigned.join(', ')}`);
  return out;
}

const seconds = (ms: number | undefined): string => (ms === undefined || !Number.isFinite(ms) ? '-' : `${(Math.max(0, ms) / 1000).toFixed(1)}s`);
const short = (id: string): string => id.slice(0, 8);

/** The report as aligned text for people. Node names and reasons are printed as values (JSON-quoted when odd). */
export function renderStatus(report: StatusReport): string {
  const lines: string[] = [];
  lines.push(`events   epoch ${report.events.epoch ?? '(no stream)'}  last seq ${report.events.lastSeq}`);
  const w = report.watcher;
  lines.push(
    w
      ? `watcher  ${short(w.instance)}  heartbeat ${seconds(w.heartbeatAgeMs)} ago  ${w.upToDate ? 'up to date' : 'catching up'}  rv ${w.resourceVersion ?? '-'}  pending ${w.pending}  last seq ${w.lastSeq}${w.sameEpoch ? '' : '  (older epoch)'}`
      : 'watcher  no status record',
  );
  for (const kind of w?.absentKinds ?? []) lines.push(`         ${kind}: not served by the API (CRD not installed): synced as none, discovery retried`);
  if (w) lines.push(w.signingKeyId ? `         signs events with key ${safe(w.signingKeyId)}` : '         WARNING: events are published unsigned (KNP_SIGNING_KEY unset)');
  if (report.compilers.length === 0) lines.push('compiler no status record');
  for (const c of report.compilers) {
    lines.push(`compiler ${short(c.instance)}  heartbeat ${seconds(c.heartbeatAgeMs)} ago  ${c.caughtUp ? 'caught up' : 'replaying'}  evaluated ${c.evaluatedSeq} (lag ${c.lagSeq})  nodes ${c.nodes}  errors ${c.errors}${c.sameEpoch ? '' : '  (older epoch)'}`);
    lines.push(...compilerInputLines(c.signing, c.input));
  }
  lines.push(`rejected policies: ${report.rejections.count}`);
  for (const r of report.rejections.items.slice(0, 20)) lines.push(`  ${r}`);
  if (report.rejections.items.length > 20) lines.push(`  ... ${report.rejections.items.length - 20} more (--json lists them)`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  const header = ['NODE', 'DESIRED', 'APPLIED', 'LAG', 'HEARTBEAT', 'STATE', 'REFUSED', 'ERROR'];
  const rows = report.nodes.map((n) => [
    safe(n.node),
    n.desired ? String(n.desired.version.seq) : '-',
    n.applied ? String(n.applied.version.seq) : '-',
    n.lagSeq === undefined ? '?' : String(n.lagSeq),
    n.heartbeatAgeMs === undefined ? 'no applier' : `${seconds(n.heartbeatAgeMs)} ago`,
    n.heartbeatAgeMs === undefined ? '-' : !n.fresh ? 'stale' : n.inSync ? 'in sync' : 'behind',
    n.refused === undefined ? '-' : String(n.refused),
    n.error ? safe(n.error).slice(0, 120) : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) lines.push(r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return `${lines.join('\n')}\n`;
}

/** Under a compiler's row: its signing mode (a warning when unsigned), what it refused and rejected, the newest with sequences. */
function compilerInputLines(signing: CompilerSigningStatus | undefined, input: CompilerInputStatus | undefined): string[] {
  const lines: string[] = [];
  const list = <T>(v: readonly T[] | undefined): readonly T[] => (Array.isArray(v) ? v : []); // a record is input too
  if (signing?.events === 'signed') lines.push(`         folds only signed events${signing.snapshots === 'signed' ? ', loads only signed snapshots' : '  WARNING: snapshots unverified (KNP_TRUSTED_COMPILER_KEYS unset)'}`);
  else if (signing) lines.push('         WARNING: events unsigned (KNP_TRUSTED_WATCHER_KEYS unset): anyone who can publish events can change the rules');
  if (list(signing?.waitingForSync).length > 0) lines.push(`         publishing held until a signed full sync of ${list(signing?.waitingForSync).map(String).map(safe).join(', ')}`);
  if (input && input.refused > 0) {
    const reasons = Object.entries(input.refusedByReason ?? {}).map(([r, n]) => `${safe(r)} ${Number(n)}`).join(', ');
    lines.push(`         refused events: ${input.refused} (${reasons})`);
    for (const r of list(input.recentRefused).slice(-5)) lines.push(`           seq ${Number(r.seq)} ${safe(String(r.subject))}: ${safe(String(r.reason))}: ${safe(String(r.detail)).slice(0, 160)}`);
  }
  if (input && input.rejected > 0) {
    lines.push(`         malformed events: ${input.rejected}`);
    for (const r of list(input.recentRejected).slice(-5))
      lines.push(`           seq ${Number(r.seq)} ${safe(String(r.object))} ${safe(String(r.field))}: ${safe(String(r.reason)).slice(0, 160)}${r.skipped ? ' (skipped)' : ''}`);
  }
  return lines;
}

/** Control characters and the like never reach the terminal raw. */
function safe(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : JSON.stringify(text);
}

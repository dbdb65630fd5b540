/*
 * Compiler benchmark (issue 2): full compile, incremental recompile, raw evolve cost, heap and rule set
 * size against the one-rule-per-peer design, on a synthetic 10,000-pod cluster. Prints figures and the
 * machine; never asserts on time. The last line is `BENCH_JSON {...}` for refreshing the README table.
 * Run: pnpm --filter @knp/compiler bench   (node --expose-gc dist/bench/compile.bench.js)
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { EVENT_SCHEMA, type AddressSet, type ObjectKind, type RuleSet } from '@knp/shared';
import { affectedNodes, allRejections, compileAll, compileNode, decodeEvent, emptyState, eventsFromObjects, evolve, evolveAll, nodesOf, type ClusterState, type FoldEvent } from '../src/index.js';
import { generateCluster, rng, withPodLabelChange, withPolicyRuleEdit, type Rng } from './synthetic-cluster.js';

const SEED = 42;
const FULL_RUNS = 5;
const CHANGES = 50;
const EVOLVE_SAMPLES = 200;
/** Changes after which every node's incrementally maintained hash is compared with a from-scratch compile. */
const CHECKED = new Set([0, 1, 2, CHANGES, CHANGES + 1, CHANGES + 2, 2 * CHANGES - 1]);

type Obj = Record<string, unknown>;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const heapMb = (): number => (gc(), process.memoryUsage().heapUsed / 2 ** 20);
const now = (): number => performance.now();
const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
/** Nearest-rank percentile. */
const pct = (xs: readonly number[], p: number): number => sorted(xs)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Figures go to stdout as plain text (a bench is a report, not a service: no logger). */
const print = (text: string): void => void process.stdout.write(`${text}\n`);
const line = (label: string, value: string): void => print(`  ${label.padEnd(46)} ${value}`);

/** The wire event the watcher would publish for an object (the bench's objects all carry uid and namespace where they need one). */
function wireFor(object: Obj, op: 'added' | 'modified'): unknown {
  const m = object.metadata as { uid: string; name: string; namespace?: string };
  return { schema: EVENT_SCHEMA, op, kind: object.kind as ObjectKind, uid: m.uid, name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}), resourceVersion: '1', object };
}

/** Decodes a wire event as the compiler's edge does (the typed event `evolve` folds). */
function decode(wire: unknown, seq: number): FoldEvent {
  const { event, rejections } = decodeEvent(wire, seq);
  if (!event || rejections.length > 0) throw new Error(`bench: bad synthetic object: ${JSON.stringify(rejections)}`);
  return event;
}

function eventFor(object: Obj, op: 'added' | 'modified', seq: number): FoldEvent {
  return decode(wireFor(object, op), seq);
}

// ---- machine and cluster -------------------------------------------------------------------------------
const cpus = os.cpus();
const machine = { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memGb: r2(os.totalmem() / 2 ** 30), node: process.version, kernel: os.release() };
print('knp compiler benchmark');
line('machine', `${machine.cpu}, ${machine.cores} cores, ${machine.memGb} GiB, Node ${machine.node}, kernel ${machine.kernel}`);
if (!('gc' in globalThis)) line('note', 'run with --expose-gc for exact heap figures');

let t = now();
const cluster = generateCluster(SEED);
const objects = [...cluster.namespaces, ...cluster.pods, ...cluster.policies];
const baseEvents = eventsFromObjects(objects).events.map((e, i) => ({ ...e, seq: i + 1 }));
const generateMs = now() - t;
const build = (extra: readonly FoldEvent[] = []): ClusterState => evolveAll(emptyState(), [...baseEvents, ...extra]);
// the edge: the same objects as wire events, decoded (envelope, names, labels, IPs, ports, policies) as the service does
const wireEvents = objects.map((o) => wireFor(o, 'added'));
t = now();
for (const [i, w] of wireEvents.entries()) decode(w, i + 1);
const decodeMs = now() - t;

const heapBefore = heapMb();
t = now();
const base = build();
const buildMs = now() - t;
const heapState = heapMb();
const nodes = nodesOf(base);
const livePods = Object.values(base.pods).reduce((n, b) => n + Object.values(b).filter((p) => p.node && p.ips.length && !p.hostNetwork && p.phase !== 'Succeeded' && p.phase !== 'Failed').length, 0);
const rejections = allRejections(base);
print('cluster (seed 42)');
line('namespaces / pods (live) / policies / nodes', `${cluster.namespaces.length} / ${cluster.pods.length} (${livePods}) / ${cluster.policies.length} / ${nodes.length}`);
line('policy rejections (expected 0)', String(rejections.length));
line('generate objects + events', ms(generateMs));
line(`decodeEvent(${wireEvents.length} wire events)`, `${ms(decodeMs)}   (${Math.round((wireEvents.length / decodeMs) * 1000).toLocaleString('en-US')} events/s)`);
line(`evolveAll(emptyState(), ${baseEvents.length} events)`, ms(buildMs));

// ---- 1. full compile: each run on a freshly built state, so no memo of an earlier run helps -------------
const fullTimes: number[] = [];
let full: Record<string, RuleSet> = {};
for (let run = 0; run < FULL_RUNS; run++) {
  const state = run === FULL_RUNS - 1 ? base : build();
  gc();
  t = now();
  full = compileAll(state);
  fullTimes.push(now() - t);
}
const heapCompiled = heapMb();
const warmT = now();
compileAll(base);
const warmMs = now() - warmT;
print('full compile (compileAll, all nodes)');
line(`fresh state, ${FULL_RUNS} runs: best / median`, `${ms(Math.min(...fullTimes))} / ${ms(pct(fullTimes, 50))}   (target <= 2000 ms)`);
line('same state again (memoised)', ms(warmMs));

// ---- 3. raw evolve on the 10k-pod state -------------------------------------------------------------------
const changeRng = rng(SEED + 1);
const podByUid = new Map(cluster.pods.map((p) => [(p.metadata as { uid: string }).uid, p]));
const policyByUid = new Map(cluster.policies.map((p) => [(p.metadata as { uid: string }).uid, p]));
const livePodObjects = cluster.pods.filter((p) => (p.spec as Obj).nodeName && !(p.spec as Obj).hostNetwork && (p.status as Obj).phase === 'Running');
const apps = (p: Obj): readonly string[] => cluster.appsByNamespace.get((p.metadata as { namespace: string }).namespace) ?? ['web'];
const podChange = (r: Rng, seq: number): FoldEvent => {
  const current = podByUid.get((r.pick(livePodObjects).metadata as { uid: string }).uid)!;
  const next = withPodLabelChange(r, current, apps(current));
  podByUid.set((next.metadata as { uid: string }).uid, next);
  return eventFor(next, 'modified', seq);
};
const policyChange = (r: Rng, seq: number): FoldEvent => {
  const current = policyByUid.get((r.pick(cluster.policies).metadata as { uid: string }).uid)!;
  const next = withPolicyRuleEdit(r, current);
  policyByUid.set((next.metadata as { uid: string }).uid, next);
  return eventFor(next, 'modified', seq);
};

const evolveRng = rng(SEED + 2);
const evolvePod: number[] = [], evolvePolicy: number[] = [], decodePod: number[] = [], decodePolicy: number[] = [];
for (let i = 0; i < EVOLVE_SAMPLES; i++) {
  // each from the same base state (not chained), with a changed copy of a random object; decoding (the
  // edge, which used to run inside evolve) is timed apart
  const pw = wireFor(withPodLabelChange(evolveRng, evolveRng.pick(livePodObjects), ['web', 'api']), 'modified');
  t = now();
  const pe = decode(pw, base.seq + 1);
  decodePod.push(now() - t);
  t = now();
  evolve(base, pe);
  evolvePod.push(now() - t);
  const nw = wireFor(withPolicyRuleEdit(evolveRng, evolveRng.pick(cluster.policies)), 'modified');
  t = now();
  const ne = decode(nw, base.seq + 1);
  decodePolicy.push(now() - t);
  t = now();
  evolve(base, ne);
  evolvePolicy.push(now() - t);
}
print(`decodeEvent(wire event) and evolve(state, event) on the 10k-pod state (immer, ${EVOLVE_SAMPLES} events each)`);
line('pod label change: decode median / p99', `${ms(pct(decodePod, 50))} / ${ms(pct(decodePod, 99))}`);
line('pod label change: evolve median / p99', `${ms(pct(evolvePod, 50))} / ${ms(pct(evolvePod, 99))}`);
line('policy edit: decode median / p99', `${ms(pct(decodePolicy, 50))} / ${ms(pct(decodePolicy, 99))}`);
line('policy edit: evolve median / p99', `${ms(pct(evolvePolicy, 50))} / ${ms(pct(evolvePolicy, 99))}`);

// ---- 2. incremental: evolve + affectedNodes + compileNode per affected node, chained over 2 x 50 changes --
type Sample = { total: number; evolve: number; affected: number; compile: number; nodes: number; changed: number };
const hashes = new Map(Object.entries(full).map(([n, rs]) => [n, rs.contentHash]));
const changes: FoldEvent[] = [];
const snapshots = new Map<number, { affected: readonly string[]; hashes: ReadonlyMap<string, string> }>();
const samples: { pod: Sample[]; policy: Sample[] } = { pod: [], policy: [] };
let state = base;
gc();
for (let i = 0; i < 2 * CHANGES; i++) {
  const kind = i < CHANGES ? 'pod' : 'policy';
  const event = kind === 'pod' ? podChange(changeRng, base.seq + i + 1) : policyChange(changeRng, base.seq + i + 1);
  changes.push(event);
  const t0 = now();
  const next = evolve(state, event);
  const t1 = now();
  const affected = affectedNodes(state, next, event);
  const t2 = now();
  const results = affected.map((node) => compileNode(next, node).ruleSet);
  const t3 = now();
  let changed = 0;
  for (const rs of results) if (hashes.get(rs.node) !== rs.contentHash) changed++, hashes.set(rs.node, rs.contentHash);
  samples[kind].push({ total: t3 - t0, evolve: t1 - t0, affected: t2 - t1, compile: t3 - t2, nodes: affected.length, changed });
  if (CHECKED.has(i)) snapshots.set(i, { affected, hashes: new Map(hashes) });
  state = next;
}

const summarize = (xs: readonly Sample[]) => ({
  medianMs: r2(pct(xs.map((s) => s.total), 50)),
  p99Ms: r2(pct(xs.map((s) => s.total), 99)),
  evolveMedianMs: r2(pct(xs.map((s) => s.evolve), 50)),
  affectedMedianMs: r2(pct(xs.map((s) => s.affected), 50)),
  compileMedianMs: r2(pct(xs.map((s) => s.compile), 50)),
  compilePerNodeMs: r2(xs.reduce((a, s) => a + s.compile, 0) / Math.max(1, xs.reduce((a, s) => a + s.nodes, 0))),
  nodesAffectedMean: r2(mean(xs.map((s) => s.nodes))),
  nodesAffectedMax: Math.max(...xs.map((s) => s.nodes)),
  nodesChangedMean: r2(mean(xs.map((s) => s.changed))),
});
const inc = { pod: summarize(samples.pod), policy: summarize(samples.policy) };

// correctness, outside the timing: a from-scratch state and compileAll after the checked changes
let mismatches = 0, checkedNodes = 0;
for (const [i, snap] of snapshots) {
  const fresh = compileAll(build(changes.slice(0, i + 1)));
  const affected = new Set(snap.affected);
  for (const node of new Set([...Object.keys(fresh), ...snap.hashes.keys()])) {
    checkedNodes++;
    // affected: the incremental result equals the full one; unaffected: the hash it kept is still right
    if (fresh[node]?.contentHash !== snap.hashes.get(node)) {
      mismatches++;
      if (mismatches <= 5) print(`  MISMATCH after change ${i} (${changes[i]!.kind}) on ${node}: ${affected.has(node) ? 'affected' : 'NOT in affectedNodes'}`);
    }
  }
}
const incrementalEqualsFull = mismatches === 0;

print(`incremental recompile: evolve + affectedNodes + compileNode(affected), ${CHANGES} chained changes each`);
for (const [label, s] of [['one pod label change', inc.pod], ['one policy rule edit', inc.policy]] as const) {
  line(`${label}: median / p99`, `${ms(s.medianMs)} / ${ms(s.p99Ms)}   (target <= 20 ms)`);
  line('  median: evolve / affectedNodes / compile', `${ms(s.evolveMedianMs)} / ${ms(s.affectedMedianMs)} / ${ms(s.compileMedianMs)}  (${ms(s.compilePerNodeMs)} per node)`);
  line('  nodes affected: mean (max) / hash changed', `${s.nodesAffectedMean} (${s.nodesAffectedMax}) / ${s.nodesChangedMean}`);
}
line('incremental == full', `${incrementalEqualsFull ? 'yes' : 'no'} (${snapshots.size} changes x all nodes, ${checkedNodes} node checks, ${mismatches} mismatches)`);

// ---- 4. heap ------------------------------------------------------------------------------------------
print(`heap used${'gc' in globalThis ? ' (after gc)' : ''}`);
line('before state / after state / after compile', `${heapBefore.toFixed(0)} / ${heapState.toFixed(0)} / ${heapCompiled.toFixed(0)} MiB`);
line('state alone / compiled rule sets + memos', `${(heapState - heapBefore).toFixed(0)} / ${(heapCompiled - heapState).toFixed(0)} MiB`);

// ---- 5. rule set size: this IR against one rule per (local pod, peer pod, port) --------------------------
const members = (set: AddressSet): number => (set.kind === 'pods' || set.kind === 'nodes' ? set.ips.length : set.kind === 'cidr' ? 1 + set.except.length : set.entries.length);
type Size = { node: string; ir: number; old: number; pods: number; rules: number; sets: number; members: number };
const sizes: Size[] = Object.values(full).map((rs) => {
  const setSize = new Map(rs.sets.map((s) => [s.id, members(s)]));
  const rules = new Map(rs.rules.map((r) => [r.id, r]));
  let old = 0;
  for (const pod of rs.pods)
    for (const dir of [pod.ingress, pod.egress]) {
      if (!dir.isolated) continue;
      for (const id of dir.rules)
        for (const term of rules.get(id)!.terms) {
          if (term.kind === 'peer-ports') old += setSize.get(term.set)!;
          else old += (term.peers === 'any' ? 1 : term.peers.reduce((a, p) => a + setSize.get(p)!, 0)) * (term.ports === 'any' ? 1 : term.ports.length);
        }
    }
  const setMembers = [...setSize.values()].reduce((a, b) => a + b, 0);
  return { node: rs.node, ir: rs.rules.length + setMembers + rs.pods.length, old, pods: rs.pods.length, rules: rs.rules.length, sets: rs.sets.length, members: setMembers };
});
const stat = (f: (s: Size) => number) => {
  const xs = sizes.map(f);
  return { min: Math.min(...xs), median: pct(xs, 50), max: Math.max(...xs), total: xs.reduce((a, b) => a + b, 0) };
};
const sizeStats = { localPods: stat((s) => s.pods), rules: stat((s) => s.rules), sets: stat((s) => s.sets), setMembers: stat((s) => s.members), ir: stat((s) => s.ir), onePerPeer: stat((s) => s.old) };
print('rule set size per node (IR = rules + set members + local pods; old = sum over isolated local pods of peer IPs x ports)');
print(`  ${''.padEnd(22)} ${'min'.padStart(10)} ${'median'.padStart(10)} ${'max'.padStart(10)} ${'total'.padStart(12)}`);
for (const [label, s] of Object.entries(sizeStats))
  print(`  ${label.padEnd(22)} ${String(s.min).padStart(10)} ${String(s.median).padStart(10)} ${String(s.max).padStart(10)} ${String(s.total).padStart(12)}`);
line('one-rule-per-peer / IR (totals)', `${(sizeStats.onePerPeer.total / sizeStats.ir.total).toFixed(1)}x`);

print(
  'BENCH_JSON ' +
    JSON.stringify({
      machine,
      cluster: { namespaces: cluster.namespaces.length, pods: cluster.pods.length, livePods, policies: cluster.policies.length, nodes: nodes.length, rejections: rejections.length, seed: SEED },
      decodeMs: r2(decodeMs),
      buildStateMs: r2(buildMs),
      fullCompile: { runs: FULL_RUNS, bestMs: r2(Math.min(...fullTimes)), medianMs: r2(pct(fullTimes, 50)), memoisedMs: r2(warmMs) },
      decode: { podMedianMs: r2(pct(decodePod, 50)), podP99Ms: r2(pct(decodePod, 99)), policyMedianMs: r2(pct(decodePolicy, 50)), policyP99Ms: r2(pct(decodePolicy, 99)) },
      evolve: { podMedianMs: r2(pct(evolvePod, 50)), podP99Ms: r2(pct(evolvePod, 99)), policyMedianMs: r2(pct(evolvePolicy, 50)), policyP99Ms: r2(pct(evolvePolicy, 99)) },
      incremental: { changes: CHANGES, ...inc, incrementalEqualsFull },
      heapMb: { beforeState: r2(heapBefore), afterState: r2(heapState), afterFullCompile: r2(heapCompiled) },
      ruleSetSize: sizeStats,
    }),
);

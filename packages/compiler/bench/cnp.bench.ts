/*
 * What ClusterNetworkPolicies cost (issue 16): the 10k-pod synthetic cluster of compile.bench.ts, compiled
 * without and with 100 Nodes and 50 ClusterNetworkPolicies (20 Admin, 30 Baseline, shaped like a platform
 * team's guard rails): full compile wall, incremental recompile (a pod label change; a CNP priority change),
 * and the rule set size per node. Prints figures and the machine; never asserts on time. The last line is
 * `BENCH_JSON {...}`. Run: pnpm --filter @knp/compiler bench   (node --expose-gc dist/bench/cnp.bench.js)
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { RuleSet } from '@knp/shared';
import { affectedNodes, allRejections, compileAll, compileNode, emptyState, eventsFromObjects, evolve, evolveAll, type ClusterState, type FoldEvent } from '../src/index.js';
import { generateCluster, rng, withPodLabelChange, type Rng } from './synthetic-cluster.js';

const SEED = 42;
const FULL_RUNS = 3;
const CHANGES = 30;
const NODES = 100;
const ENVS = ['prod', 'staging', 'dev'] as const;

type Obj = Record<string, unknown>;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const now = (): number => performance.now();
const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const pct = (xs: readonly number[], p: number): number => sorted(xs)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
const r2 = (x: number): number => Math.round(x * 100) / 100;
const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const print = (text: string): void => void process.stdout.write(`${text}\n`);
const line = (label: string, value: string): void => print(`  ${label.padEnd(50)} ${value}`);

/** The synthetic cluster's nodes, three of them control-plane, each with the address its host-network pods use. */
function nodeObjects(): Obj[] {
  return Array.from({ length: NODES }, (_, n) => ({
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: `node-${String(n).padStart(3, '0')}`, uid: `node-${n}`, labels: n < 3 ? { 'node-role.kubernetes.io/control-plane': '' } : { zone: `z${n % 3}` } },
    status: { addresses: [{ type: 'InternalIP', address: `192.168.0.${n + 1}` }] },
  }));
}

const cnp = (name: string, priority: number, tier: 'Admin' | 'Baseline', spec: Obj): Obj => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha2', kind: 'ClusterNetworkPolicy', metadata: { name, uid: `cnp-${name}` }, spec: { tier, priority, ...spec },
});
const tcp = (port: number): Obj => ({ tcp: { destinationPort: { number: port } } });

/** 50 policies: admin guard rails (quarantine, metadata service, control plane, monitoring, team Pass) and per-env baselines. */
function clusterPolicies(r: Rng): Obj[] {
  const out: Obj[] = [
    cnp('quarantine', 1, 'Admin', { subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { quarantine: 'true' } } } },
      ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }], egress: [{ action: 'Deny', to: [{ networks: ['0.0.0.0/0', '::/0'] }] }] }),
    cnp('no-metadata-service', 2, 'Admin', { subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ networks: ['169.254.169.254/32'] }] }] }),
    cnp('no-control-plane-from-dev', 3, 'Admin', { subject: { namespaces: { matchLabels: { env: 'dev' } } }, egress: [{ action: 'Deny', to: [{ nodes: { matchLabels: { 'node-role.kubernetes.io/control-plane': '' } } }] }] }),
    cnp('monitoring-scrapes', 4, 'Admin', { subject: { namespaces: {} },
      ingress: [{ action: 'Accept', from: [{ namespaces: { matchLabels: { team: 'observability' } } }], protocols: [tcp(9090), { tcp: { destinationPort: { range: { start: 9100, end: 9199 } } } }] }] }),
    cnp('dns', 5, 'Admin', { subject: { namespaces: {} }, egress: [{ action: 'Accept', to: [{ pods: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } } }],
      protocols: [{ udp: { destinationPort: { number: 53 } } }, tcp(53)] }] }),
  ];
  // team guard rails: a team's own traffic passes to its NetworkPolicies, the pci namespaces admit only their team
  for (let i = 0; out.length < 20; i++) {
    const team = `team${String(r.int(40)).padStart(2, '0')}`;
    out.push(i % 2 === 0
      ? cnp(`pass-${team}-${i}`, 10 + i, 'Admin', { subject: { namespaces: { matchLabels: { team } } }, ingress: [{ action: 'Pass', from: [{ namespaces: { matchLabels: { team } } }] }] })
      : cnp(`pci-${team}-${i}`, 10 + i, 'Admin', { subject: { namespaces: { matchLabels: { team, compliance: 'pci' } } },
        ingress: [{ action: 'Accept', from: [{ namespaces: { matchLabels: { team } } }] }, { action: 'Deny', from: [{ namespaces: {} }] }] }));
  }
  // baselines: each env admits itself and denies the others; data-tier pods egress only inside the cluster
  for (let i = 0; out.length < 50; i++) {
    const env = ENVS[i % ENVS.length]!;
    out.push(i % 2 === 0
      ? cnp(`env-${env}-${i}`, 100 + i, 'Baseline', { subject: { namespaces: { matchLabels: { env } } },
        ingress: [{ action: 'Accept', from: [{ namespaces: { matchLabels: { env } } }] }, { action: 'Deny', from: [{ namespaces: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: [env] }] } }] }] })
      : cnp(`data-egress-${env}-${i}`, 100 + i, 'Baseline', { subject: { pods: { namespaceSelector: { matchLabels: { env } }, podSelector: { matchLabels: { tier: 'data' } } } },
        egress: [{ action: 'Accept', to: [{ networks: ['10.244.0.0/16'] }] }, { action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }] }] }));
  }
  return out;
}

type Variant = { label: string; events: FoldEvent[]; state: ClusterState; full: Record<string, RuleSet>; fullMs: number[] };

function variant(label: string, objects: readonly Obj[]): Variant {
  const { events, rejections } = eventsFromObjects(objects);
  if (rejections.length > 0) throw new Error(`bench: bad synthetic object: ${JSON.stringify(rejections.slice(0, 3))}`);
  const seqd = events.map((e, i) => ({ ...e, seq: i + 1 }));
  const fullMs: number[] = [];
  let state = evolveAll(emptyState(), seqd), full: Record<string, RuleSet> = {};
  for (let run = 0; run < FULL_RUNS; run++) {
    state = evolveAll(emptyState(), seqd); // fresh state: no memo of an earlier run helps
    gc();
    const t = now();
    full = compileAll(state);
    fullMs.push(now() - t);
  }
  return { label, events: seqd, state, full, fullMs };
}

type Inc = { total: number[]; nodes: number[]; changed: number[] };

/** evolve + affectedNodes + compileNode(affected), chained over `events`; per change: total ms, nodes recompiled, hashes changed. */
function incremental(v: Variant, events: readonly FoldEvent[]): Inc {
  let state = v.state;
  const hashes = new Map(Object.entries(v.full).map(([n, rs]) => [n, rs.contentHash]));
  const total: number[] = [], nodes: number[] = [], changed: number[] = [];
  for (const event of events) {
    const t = now();
    const next = evolve(state, event);
    const affected = affectedNodes(state, next, event);
    const results = affected.map((node) => compileNode(next, node).ruleSet);
    total.push(now() - t);
    nodes.push(affected.length);
    let c = 0;
    for (const rs of results) if (hashes.get(rs.node) !== rs.contentHash) c++, hashes.set(rs.node, rs.contentHash);
    changed.push(c);
    state = next;
  }
  return { total, nodes, changed };
}

/** Changed objects as the events the compiler folds (upserts), numbered from `firstSeq`. */
function decoded(objects: readonly Obj[], firstSeq: number): FoldEvent[] {
  return eventsFromObjects(objects).events.map((e, i) => ({ ...e, seq: firstSeq + i }));
}

const size = (rs: RuleSet) => ({
  rules: rs.rules.length, tierRules: rs.tierRules?.length ?? 0, sets: rs.sets.length,
  members: rs.sets.reduce((a, s) => a + (s.kind === 'pods' || s.kind === 'nodes' ? s.ips.length : s.kind === 'cidr' ? 1 + s.except.length : s.entries.length), 0),
  bytes: JSON.stringify(rs).length,
});

// ---- machine, cluster --------------------------------------------------------------------------------------
const cpus = os.cpus();
const machine = { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memGb: r2(os.totalmem() / 2 ** 30), node: process.version, kernel: os.release() };
print('knp compiler benchmark: what ClusterNetworkPolicies cost');
line('machine', `${machine.cpu}, ${machine.cores} cores, ${machine.memGb} GiB, Node ${machine.node}, kernel ${machine.kernel}, load ${os.loadavg()[0]!.toFixed(1)}`);
const cluster = generateCluster(SEED);
const base = [...cluster.namespaces, ...cluster.pods, ...cluster.policies];
const policies = clusterPolicies(rng(SEED + 7));
const without = variant('without', base);
const withCnp = variant('with', [...base, ...nodeObjects(), ...policies]);
const cnpRejections = allRejections(withCnp.state).filter((r) => r.object.startsWith('ClusterNetworkPolicy'));
line('pods / NetworkPolicies / Nodes / ClusterNetworkPolicies', `${cluster.pods.length} / ${cluster.policies.length} / ${NODES} / ${policies.length} (${cnpRejections.length} rejected)`);

print(`full compile (compileAll, ${Object.keys(withCnp.full).length} nodes, fresh state, ${FULL_RUNS} runs): best / median`);
for (const v of [without, withCnp]) line(`${v.label} ClusterNetworkPolicies`, `${ms(Math.min(...v.fullMs))} / ${ms(pct(v.fullMs, 50))}`);

// the same pod label changes on both; then priority changes of the CNPs (a reorder of one tier)
const podChanges = (v: Variant): FoldEvent[] => {
  const r = rng(SEED + 1);
  const live = cluster.pods.filter((p) => (p.spec as Obj).nodeName && !(p.spec as Obj).hostNetwork && (p.status as Obj).phase === 'Running');
  const changed = Array.from({ length: CHANGES }, () => withPodLabelChange(r, r.pick(live), ['web', 'api']));
  return decoded(changed, v.events.length + 1);
};
const priorityChanges = decoded(Array.from({ length: CHANGES }, (_, i) => {
  const p = structuredClone(policies[i % policies.length]!) as { spec: { priority: number } };
  p.spec.priority = 500 + i;
  return p as unknown as Obj;
}), withCnp.events.length + 1);
const incPod = { without: incremental(without, podChanges(without)), with: incremental(withCnp, podChanges(withCnp)) };
const incPriority = incremental(withCnp, priorityChanges);
print(`incremental recompile (evolve + affectedNodes + compileNode(affected)), ${CHANGES} chained changes: median / p99 (nodes recompiled / hash changed, median)`);
const incLine = (label: string, s: Inc): void => line(label, `${ms(pct(s.total, 50))} / ${ms(pct(s.total, 99))}   (${pct(s.nodes, 50)} / ${pct(s.changed, 50)} nodes)`);
incLine('pod label change, without', incPod.without);
incLine('pod label change, with', incPod.with);
incLine('ClusterNetworkPolicy priority change', incPriority);

print('rule set size per node: median / max (total over nodes)');
const sizes = { without: Object.values(without.full).map(size), with: Object.values(withCnp.full).map(size) };
const stat = (xs: readonly ReturnType<typeof size>[], k: keyof ReturnType<typeof size>) => {
  const v = xs.map((x) => x[k]);
  return { median: pct(v, 50), max: Math.max(...v), total: v.reduce((a, b) => a + b, 0) };
};
const sizeStats: Record<string, Record<string, ReturnType<typeof stat>>> = {};
for (const k of ['rules', 'tierRules', 'sets', 'members', 'bytes'] as const) {
  sizeStats[k] = { without: stat(sizes.without, k), with: stat(sizes.with, k) };
  const f = (s: ReturnType<typeof stat>): string => `${s.median} / ${s.max} (${s.total})`;
  line(`${k}: without -> with`, `${f(sizeStats[k]!.without!)}  ->  ${f(sizeStats[k]!.with!)}`);
}

const summary = (s: Inc) => ({ medianMs: r2(pct(s.total, 50)), p99Ms: r2(pct(s.total, 99)), nodesMedian: pct(s.nodes, 50), changedMedian: pct(s.changed, 50) });
print('BENCH_JSON ' + JSON.stringify({
  machine, cluster: { pods: cluster.pods.length, policies: cluster.policies.length, nodes: NODES, clusterNetworkPolicies: policies.length, cnpRejections: cnpRejections.length, seed: SEED },
  fullCompile: Object.fromEntries([without, withCnp].map((v) => [v.label, { bestMs: r2(Math.min(...v.fullMs)), medianMs: r2(pct(v.fullMs, 50)) }])),
  incremental: { podWithout: summary(incPod.without), podWith: summary(incPod.with), cnpPriority: summary(incPriority) },
  ruleSetSize: sizeStats,
}));

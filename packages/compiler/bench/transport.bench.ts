/*
 * Transport benchmark (issue 15): bytes a compiler publishes for a full compile and per event, with the real
 * encoder (node messages as FULL or DELTA with sets by reference, set store contents once per distinct
 * content, statements and signatures counted), against the whole rule sets published before. No NATS:
 * byte counts only. Prints each figure with its target and PASS or MISS; never fails.
 * Run: node --expose-gc --max-old-space-size=8192 dist/bench/transport.bench.js [10k|100k|both|100k-75k]
 */
import { createPrivateKey } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  EVENT_SCHEMA, addressSetHash, advanceHead, compactionDue, compareVersions, deltaMessage, encodeManifest, encodedBytes, fullMessage, generateSigningKeyPair,
  manifestStatement, nextNodeMessage, nodeMessageStatement, planPointers, pointerFor, pointerText, ruleSetHeaders, setContentOf, setStatement, signingKeyFrom,
  transportHeaders, MAX_DELTAS, type PointerCandidate,
  type AddressSet, type ChainHead, type ObjectKind, type RuleSet,
} from '@knp/shared';
import { FULL_SEQ_HEADER, SET_CHAIN_COMPACT } from '@knp/shared/nats';
import { affectedNodes, compileNode, decodeEvent, emptyState, eventsFromObjects, evolve, evolveAll, nodesOf, type ClusterState, type FoldEvent } from '../src/index.js';
import { generateCluster, rng, withPodLabelChange, withPolicyRuleEdit, type ClusterSize, type Rng } from './synthetic-cluster.js';

type Obj = Record<string, unknown>;
type Md = { uid: string; name: string; namespace?: string; labels?: Record<string, string> };
const EPOCH = '2026-12-04T00:00:00Z';
const MiB = 2 ** 20, KiB = 1024;
const print = (text: string): void => void process.stdout.write(`${text}\n`);
const line = (label: string, value: string): void => print(`  ${label.padEnd(52)} ${value}`);
const pct = (xs: readonly number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
const size = (bytes: number): string => (bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${(bytes / KiB).toFixed(1)} KiB`);
const verdict = (value: number, target: number): string => `(target <= ${size(target)}) ${value <= target ? 'PASS' : 'MISS'}`;
const signer = signingKeyFrom(createPrivateKey(generateSigningKeyPair().privatePem));
/** Bytes of NATS headers as they travel: `name: value\r\n` each. */
const headerBytes = (h: ReadonlyMap<string, string>): number => [...h].reduce((n, [k, v]) => n + k.length + v.length + 4, 0);

/** The synthetic cluster with pod addresses spread over 10.244-247.x so that up to 1,024 nodes fit. */
function spreadCluster(seed: number, s: ClusterSize) {
  const cluster = generateCluster(seed, s);
  for (const pod of cluster.pods) {
    const status = pod.status as { podIP?: string; podIPs?: { ip: string }[] };
    const v4 = (ip: string): string => {
      const m = /^10\.244\.(\d+)\.(\d+)$/.exec(ip) ?? /^192\.168\.0\.(\d+)$/.exec(ip);
      if (!m) return ip;
      if (m.length === 2) return `192.168.${(Number(m[1]) - 1) >> 8}.${((Number(m[1]) - 1) & 255) + 1}`;
      const n = Number(m[1]);
      return `10.${244 + (n >> 8)}.${n & 255}.${m[2]}`;
    };
    if (status.podIP) status.podIP = v4(status.podIP);
    if (status.podIPs) status.podIPs = status.podIPs.map(({ ip }) => ({ ip: v4(ip) }));
  }
  return cluster;
}

function event(object: Obj, op: 'added' | 'modified' | 'deleted', seq: number): FoldEvent {
  const m = object.metadata as Md;
  const wire = { schema: EVENT_SCHEMA, op, kind: object.kind as ObjectKind, uid: m.uid, name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}), resourceVersion: String(seq), object };
  const { event: e, rejections } = decodeEvent(wire, seq);
  if (!e || rejections.length > 0) throw new Error(`bench: bad synthetic object: ${JSON.stringify(rejections)}`);
  return e;
}

/** What the compiler would have on the wire: node subject heads and the set store's contents. */
class Wire {
  readonly heads = new Map<string, ChainHead>();
  private readonly stored = new Set<string>();
  private readonly latest = new Map<string, { set: AddressSet; depth: number }>();
  compactionBytes = 0;

  /** Bytes of the set store messages `sets` needs (each distinct content once, as a delta on the newest stored when smaller). */
  private storeSets(sets: readonly AddressSet[]): number {
    let bytes = 0;
    for (const set of sets) {
      const key = `${set.id}.${addressSetHash(set)}`;
      if (this.stored.has(key)) continue;
      const prev = this.latest.get(set.id);
      const content = setContentOf(set, prev?.set);
      bytes += encodedBytes(content) + headerBytes(transportHeaders(signer, setStatement(content)));
      this.stored.add(key);
      const depth = content.kind === 'set' ? 0 : (prev?.depth ?? 0) + 1;
      this.latest.set(set.id, { set, depth: depth >= SET_CHAIN_COMPACT ? 0 : depth });
      // background set compaction (NodeWriter.compactSets): the content stored whole under the same subject
      if (depth >= SET_CHAIN_COMPACT) this.compactionBytes += encodedBytes({ kind: 'set', set }) + headerBytes(transportHeaders(signer, setStatement({ kind: 'set', set })));
    }
    return bytes;
  }

  /** Publishes `ruleSet` on its node subject (FULL or DELTA); returns the bytes, set store included. */
  publish(ruleSet: RuleSet): number {
    const head = this.heads.get(ruleSet.node);
    const { message, sets } = nextNodeMessage(head, ruleSet);
    const bytes = this.storeSets(sets) + encodedBytes(message) + headerBytes(transportHeaders(signer, nodeMessageStatement(message)));
    const next = advanceHead(head, message, ruleSet);
    this.heads.set(ruleSet.node, next);
    this.compactIfDue(ruleSet, next);
    return bytes;
  }

  /**
   * Publishes one event's rule sets as NodeWriter.publishMany does: nodes whose only change is set contents
   * (enough of them) get a pointer to a signed manifest; the rest FULL or DELTA. Returns the bytes.
   */
  publishMany(ruleSets: readonly RuleSet[]): number {
    const candidates: PointerCandidate[] = [];
    for (const next of ruleSets) {
      const head = this.heads.get(next.node);
      if (!head || head.sinceFull >= MAX_DELTAS || compareVersions(head.ruleSet.version, next.version) >= 0) continue;
      candidates.push({ base: head.ruleSet, next, delta: deltaMessage(head.ruleSet, next).message });
    }
    const plan = planPointers(candidates);
    let bytes = this.storeSets(plan.sets);
    const pointed = new Set<string>();
    for (const { manifest, nodes } of plan.manifests) {
      const { text, hash } = encodeManifest(manifest);
      bytes += Buffer.byteLength(text, 'utf8') + headerBytes(transportHeaders(signer, manifestStatement(manifest)));
      for (const node of nodes) {
        const rs = ruleSets.find((x) => x.node === node)!;
        // the pointer and its chain-start hint (a stream sequence: counted at 8 digits)
        bytes += Buffer.byteLength(pointerText(hash), 'utf8') + headerBytes(new Map([[FULL_SEQ_HEADER, '12345678']]));
        const next = advanceHead(this.heads.get(node), pointerFor(manifest, hash, node)!, rs);
        this.heads.set(node, next);
        this.compactIfDue(rs, next);
        pointed.add(node);
      }
    }
    for (const rs of ruleSets) if (!pointed.has(rs.node)) bytes += this.publish(rs);
    return bytes;
  }

  private compactIfDue(ruleSet: RuleSet, head: ChainHead): void {
    if (!compactionDue(head)) return;
    // background compaction: a FULL of the head itself (its sets are stored already)
    const full = fullMessage(ruleSet).message;
    this.compactionBytes += encodedBytes(full) + headerBytes(transportHeaders(signer, nodeMessageStatement(full)));
    this.heads.set(ruleSet.node, advanceHead(head, full, ruleSet));
  }
}

const legacyBytes = (rs: RuleSet): number => Buffer.byteLength(JSON.stringify(rs), 'utf8') + headerBytes(ruleSetHeaders(signer, rs));

function run(label: string, s: ClusterSize, events: number, legacyPerEvent: boolean): Record<string, number> {
  print(`\n${label}: ${s.pods.toLocaleString('en-US')} pods, ${s.nodes} nodes, ${s.policies.toLocaleString('en-US')} policies, ${s.namespaces} namespaces`);
  let t = performance.now();
  const cluster = spreadCluster(42, s);
  const objects = [...cluster.namespaces, ...cluster.pods, ...cluster.policies];
  let state: ClusterState = evolveAll(emptyState(), eventsFromObjects(objects).events.map((e, i) => ({ ...e, seq: i + 1 })));
  state = { ...state, epoch: EPOCH };
  line('generate + fold', `${((performance.now() - t) / 1000).toFixed(1)} s`);

  // ---- a full compile: every node's FULL and every distinct set content once ----
  t = performance.now();
  const wire = new Wire();
  let legacyFull = 0, newFull = 0, setsFull = 0;
  const distinct = new Map<string, AddressSet>();
  for (const node of nodesOf(state)) {
    const rs = compileNode(state, node, { epoch: EPOCH, seq: state.seq }).ruleSet;
    legacyFull += legacyBytes(rs);
    newFull += wire.publish(rs);
    for (const set of rs.sets) distinct.set(`${set.id}.${addressSetHash(set)}`, set);
  }
  for (const set of distinct.values()) setsFull += encodedBytes({ kind: 'set', set });
  line('full compile + encode', `${((performance.now() - t) / 1000).toFixed(1)} s`);
  line('full compile, whole rule sets (before)', size(legacyFull));
  line('full compile, FULL messages + set store (now)', `${size(newFull)} ${verdict(newFull, 100 * MiB)}`);
  line('  of which distinct set contents', `${size(setsFull)} (${distinct.size.toLocaleString('en-US')} sets)`);

  // ---- events: pod churn, pod and namespace label changes, policy edits ----
  const r: Rng = rng(43);
  const live = cluster.pods.filter((p) => (p.spec as Obj).nodeName && !(p.spec as Obj).hostNetwork && (p.status as Obj).phase === 'Running');
  const teamNamespaces = cluster.namespaces.filter((n) => (n.metadata as Md).labels?.team && (n.metadata as Md).labels?.team !== 'platform');
  const apps = (p: Obj): readonly string[] => cluster.appsByNamespace.get((p.metadata as Md).namespace!) ?? ['web'];
  const samples: { kind: string; now: number; before: number; nodes: number }[] = [];
  let seq = state.seq, churn = 0;
  const apply = (kind: string, e: FoldEvent): void => {
    const next = evolve(state, e);
    let before = 0, nodes = 0;
    const changed: RuleSet[] = [];
    for (const node of affectedNodes(state, next, e)) {
      const rs = compileNode(next, node, { epoch: EPOCH, seq: next.seq }).ruleSet;
      if (wire.heads.get(node)?.ruleSet.contentHash === rs.contentHash) continue;
      nodes += 1;
      if (legacyPerEvent) before += legacyBytes(rs);
      changed.push(rs);
    }
    const now = wire.publishMany(changed);
    samples.push({ kind, now, before, nodes });
    state = next;
  };
  t = performance.now();
  for (let i = 0; i < events; i++) {
    const roll = r.next();
    if (roll < 0.4) {
      const k = r.int(live.length);
      live[k] = withPodLabelChange(r, live[k]!, apps(live[k]!));
      apply('pod label', event(live[k]!, 'modified', ++seq));
    } else if (roll < 0.7) {
      // a pod replaced: the old one goes, a new one (new uid) takes its IP on the same node
      const k = r.int(live.length);
      const pod = live[k]!, md = pod.metadata as Md;
      apply('pod churn', event(pod, 'deleted', ++seq));
      live[k] = { ...pod, metadata: { ...md, uid: `${md.uid}-r${++churn}`, name: `${md.name}-r${churn}` } };
      apply('pod churn', event(live[k]!, 'added', ++seq));
    } else if (roll < 0.85) {
      const k = r.int(teamNamespaces.length);
      const ns = structuredClone(teamNamespaces[k]!) as Obj;
      const labels = (ns.metadata as Md).labels!;
      if (r.chance(0.5)) labels.env = r.pick(['prod', 'staging', 'dev'].filter((x) => x !== labels.env));
      else if (labels['istio-injection']) delete labels['istio-injection'];
      else labels['istio-injection'] = 'enabled';
      teamNamespaces[k] = ns;
      apply('namespace label', event(ns, 'modified', ++seq));
    } else apply('policy edit', event(withPolicyRuleEdit(r, r.pick(cluster.policies)), 'modified', ++seq));
  }
  line(`${samples.length} events (${events} changes) compile + encode`, `${((performance.now() - t) / 1000).toFixed(1)} s`);
  const now = samples.map((x) => x.now), before = samples.map((x) => x.before);
  if (legacyPerEvent) line('per event, whole rule sets (before): median / p99', `${size(pct(before, 50))} / ${size(pct(before, 99))}`);
  line('per event, now: median', size(pct(now, 50)));
  line('per event, now: p99', `${size(pct(now, 99))} ${verdict(pct(now, 99), 256 * KiB)}`);
  for (const kind of ['pod label', 'pod churn', 'namespace label', 'policy edit']) {
    const xs = samples.filter((x) => x.kind === kind);
    if (xs.length === 0) continue;
    line(`  ${kind} (${xs.length}): median / p99 / max, nodes max`, `${size(pct(xs.map((x) => x.now), 50))} / ${size(pct(xs.map((x) => x.now), 99))} / ${size(Math.max(...xs.map((x) => x.now)))}, ${Math.max(...xs.map((x) => x.nodes))}`);
  }
  line('background compaction (FULLs, whole sets), per event (amortised)', size(wire.compactionBytes / samples.length));
  return { fullBeforeBytes: legacyFull, fullNowBytes: newFull, setBytes: setsFull, eventMedianBytes: pct(now, 50), eventP99Bytes: pct(now, 99), eventBeforeP99Bytes: pct(before, 99), compactionPerEventBytes: wire.compactionBytes / samples.length };
}

const cpus = os.cpus();
print('knp transport benchmark (bytes published; statements and Ed25519 signatures included)');
line('machine', `${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores, Node ${process.version}`);
const which = process.argv[2] ?? 'both';
const out: Record<string, Record<string, number>> = {};
if (which === 'both' || which === '10k') out['10k'] = run('10k', { pods: 10_000, nodes: 100, namespaces: 500, policies: 2_000 }, Number(process.env.KNP_BENCH_EVENTS ?? 200), true);
// at 100k an event recompiles up to every node (~35 ms each on an idle core): few events, and the whole
// rule sets of before are not encoded again per event (1.1 GiB / 1,000 nodes each)
if (which === 'both' || which === '100k') out['100k'] = run('100k', { pods: 100_000, nodes: 1_000, namespaces: 5_000, policies: 20_000 }, Number(process.env.KNP_BENCH_EVENTS_100K ?? 20), false);
// Antrea's scale test: 75,000 policies (not in `both`: its compile alone takes 10-20 s)
if (which === '100k-75k') out['100k-75k'] = run('100k-75k', { pods: 100_000, nodes: 1_000, namespaces: 7_500, policies: 75_000 }, Number(process.env.KNP_BENCH_EVENTS_100K ?? 20), false);
print(`BENCH_JSON ${JSON.stringify(out)}`);

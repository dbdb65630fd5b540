import {
  shortHash,
  type AddressSet, type Direction, type LocalPod, type PodDirection, type PortMatch, type Rule, type RuleOrigin, type RuleSet,
  type RuleSetVersion, type Term, type TierRule,
} from '@knp/shared';
import { localPods, nodesOf, policiesSelecting, sameItems } from './derived.js';
import { cidrSetSpec, materialize, podPortSetSpec, podSetSpec, type SetSpec } from './address-sets.js';
import { ownedIps, type ClusterState } from './state.js';
import type { ParsedPolicy, PolicyRecord, PolicyRule } from './policy.js';
import { table, type Table } from './table.js';
import { podTiers, type PodTiers, tierRejections, withTiers } from './compile-tiers.js';
import type { ClusterPolicyRecord } from './cluster-policy.js';
import { ruleSetOf } from './content-hash.js';
import type { NamedPort, PodRecord } from './records.js';
import type { Rejection } from '@knp/shared';

export type CompileResult = { readonly ruleSet: RuleSet; readonly rejections: readonly Rejection[] };

/** A policy rule compiled for one direction: its id, terms, and the specs of the sets the terms name. */
type RuleShape = { readonly id: string; readonly terms: readonly Term[]; readonly sets: readonly SetSpec[] };

/**
 * Compiles the rule set of one node: its live local pods, whether each is isolated per direction, the
 * rules that allow traffic, and the address sets those rules name. Pure (memoised on immutable inputs).
 */
export function compileNode(state: ClusterState, node: string, version: RuleSetVersion = { epoch: state.epoch, seq: state.seq }): CompileResult {
  const entries: PodEntry[] = [];
  const namespaces = new Set<string>();
  const tiers: (PodTiers | undefined)[] = [];
  for (const pod of localPods(state, node)) {
    const entry = podEntry(state, pod);
    if (!entry) continue; // its IP belongs to a newer pod now
    namespaces.add(pod.namespace);
    entries.push(entry);
    tiers.push(podTiers(state, pod)); // ClusterNetworkPolicy tiers (compile-tiers.ts)
  }
  const body = nodeBody(node, entries);
  const { pods, specs, tierRules, applied } = tiers.some((t) => t !== undefined) ? nodeTiers(node, body, tiers) : { pods: body.pods, specs: body.specs, tierRules: [], applied: [] };
  const setList: AddressSet[] = specs.map((spec) => materialize(state, spec));
  const rejections = [...namespaces].sort().flatMap((ns) => Object.values(state.policies[ns] ?? table<PolicyRecord>()).flatMap((p) => p.rejections));
  rejections.push(...tierRejections(new Set(applied)));
  const content = { node, pods, rules: body.rules, sets: setList, ...(tierRules.length > 0 ? { tierRules } : {}) };
  return { ruleSet: ruleSetOf(content, version), rejections };
}

/** A node's body with its pods' ClusterNetworkPolicy tiers: the pods with their tier lists, the tier rules and every set named. */
type TieredBody = { readonly body: NodeBody; readonly tiers: readonly (PodTiers | undefined)[]; readonly pods: readonly LocalPod[]; readonly specs: readonly SetSpec[]; readonly tierRules: readonly TierRule[]; readonly applied: readonly ClusterPolicyRecord[] };
/** The last tiered body per node: reused (the same arrays, so the content hash state is kept) while body and tiers are the same. */
const lastTiered = new Map<string, TieredBody>();

function nodeTiers(node: string, body: NodeBody, tiers: readonly (PodTiers | undefined)[]): TieredBody {
  const last = lastTiered.get(node);
  if (last && last.body === body && sameItems(last.tiers, tiers)) return last;
  const tierRules = new Map<string, TierRule>();
  const specs = new Map(body.specs.map((spec) => [spec.id, spec]));
  const applied = new Set<ClusterPolicyRecord>();
  const pods = body.pods.map((local, i) => {
    const t = tiers[i];
    if (!t) return local;
    for (const use of t.uses) {
      tierRules.set(use.rule.id, use.rule);
      for (const spec of use.sets) specs.set(spec.id, spec);
    }
    for (const policy of t.policies) applied.add(policy);
    return withTiers(local, t);
  });
  const tiered: TieredBody = {
    body, tiers, pods,
    specs: [...specs.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    tierRules: [...tierRules.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
    applied: [...applied],
  };
  if (lastTiered.size > 100_000) lastTiered.clear(); // a cache, not state: bound it
  lastTiered.set(node, tiered);
  return tiered;
}

/** A node's pods, rules and the specs of the sets they name, sorted by id; made from its pod entries alone. */
type NodeBody = { readonly entries: readonly PodEntry[]; readonly pods: readonly LocalPod[]; readonly rules: readonly Rule[]; readonly specs: readonly SetSpec[] };
/** The last body made per node: reused (the same arrays) while the node's pod entries are the same objects. */
const lastBody = new Map<string, NodeBody>();

function nodeBody(node: string, entries: readonly PodEntry[]): NodeBody {
  const last = lastBody.get(node);
  if (last && sameItems(last.entries, entries)) return last;
  const rules = new Map<string, { direction: Direction; terms: readonly Term[]; origins: Map<string, RuleOrigin> }>();
  const specs = new Map<string, SetSpec>();
  for (const entry of entries)
    for (const use of entry.uses) {
      let rule = rules.get(use.shape.id);
      if (!rule) rules.set(use.shape.id, (rule = { direction: use.direction, terms: use.shape.terms, origins: new Map() }));
      rule.origins.set(use.originKey, use.origin);
      for (const spec of use.shape.sets) specs.set(spec.id, spec);
    }
  const body: NodeBody = {
    entries,
    pods: entries.map((e) => e.local),
    rules: [...rules.entries()]
      .map(([id, r]) => ({ id, direction: r.direction, terms: r.terms, origins: [...r.origins.values()].sort(byOrigin) }))
      .sort((a, b) => (a.id < b.id ? -1 : 1)),
    specs: [...specs.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
  };
  if (lastBody.size > 100_000) lastBody.clear(); // a cache, not state: bound it
  lastBody.set(node, body);
  return body;
}

/** One local pod compiled: its IR entry and each policy rule it uses, with the rule's origin. */
type PodEntry = {
  readonly local: LocalPod;
  readonly uses: readonly { readonly direction: Direction; readonly shape: RuleShape; readonly originKey: string; readonly origin: RuleOrigin }[];
};
type CachedEntry = { readonly policies: Table<PolicyRecord> | undefined; readonly ips: readonly string[]; readonly entry: PodEntry };
const entryMemo = new WeakMap<PodRecord, CachedEntry>();

/**
 * A pod's entry depends only on its record, its namespace's policies and the IPs it owns, so it is reused
 * across states while those are the same objects; undefined when the pod owns no IP.
 */
function podEntry(state: ClusterState, pod: PodRecord): PodEntry | undefined {
  const ips = ownedIps(state, pod);
  if (ips.length === 0) return undefined;
  const policies = state.policies[pod.namespace];
  const hit = entryMemo.get(pod);
  if (hit && hit.policies === policies && sameItems(hit.ips, ips)) return hit.entry;
  const { uses, ingress, egress } = policyPart(policies, policiesSelecting(state, pod), pod.ports);
  const local: LocalPod = { uid: pod.uid, pod: `${pod.namespace}/${pod.name}`, ips, ingress, egress };
  const entry = { local, uses };
  entryMemo.set(pod, { policies, ips, entry });
  return entry;
}

/** What the policies selecting a pod make of it: its directions and the rules it uses. */
type PolicyPart = { readonly uses: PodEntry['uses']; readonly ingress: PodDirection; readonly egress: PodDirection };
const partMemo = new WeakMap<Table<PolicyRecord>, Map<string, PolicyPart>>();

/**
 * A pod's policy part depends only on which policies of its namespace select it and on its ports, so pods
 * alike (the replicas of a deployment) share one, made once per namespace's policies.
 */
function policyPart(policies: Table<PolicyRecord> | undefined, selecting: readonly ParsedPolicy[], ports: readonly NamedPort[]): PolicyPart {
  if (!policies) return makePolicyPart(selecting, ports);
  let byKey = partMemo.get(policies);
  if (!byKey) partMemo.set(policies, (byKey = new Map()));
  const key = `${selecting.map((p) => p.uid).join(' ')}|${portsKey(ports)}`;
  let part = byKey.get(key);
  if (!part) byKey.set(key, (part = makePolicyPart(selecting, ports)));
  return part;
}

function makePolicyPart(selecting: readonly ParsedPolicy[], ports: readonly NamedPort[]): PolicyPart {
  const uses: PodEntry['uses'][number][] = [];
  const direction = (dir: Direction): PodDirection => {
    const isolating = selecting.filter((p) => p[dir] !== undefined);
    const ruleIds = new Set<string>();
    for (const policy of isolating)
      for (const rule of policy[dir]!) {
        const shape = ruleShape(rule, dir, ports);
        uses.push({ direction: dir, shape, ...originOf(policy, rule) });
        ruleIds.add(shape.id);
      }
    return { isolated: isolating.length > 0, policies: isolating.map((p) => p.ref), rules: [...ruleIds].sort() };
  };
  const ingress = direction('ingress'), egress = direction('egress');
  return { uses, ingress, egress };
}

/** Rule sets of every node that has pods, by node name (a table without prototype: node names come from the API). */
export function compileAll(state: ClusterState): Table<RuleSet> {
  const out = table<RuleSet>() as Record<string, RuleSet>;
  for (const node of nodesOf(state)) out[node] = compileNode(state, node).ruleSet;
  return out as Table<RuleSet>;
}

/** Every rejection in the cluster, sorted by object. */
export function allRejections(state: ClusterState): Rejection[] {
  const namespaced = Object.keys(state.policies).sort().flatMap((ns) => Object.values(state.policies[ns]!).flatMap((p) => p.rejections));
  return [...namespaced, ...tierRejections(new Set(Object.values(state.clusterPolicies)))];
}

type ShapeMemo = { readonly named: boolean; plain?: RuleShape; readonly byPorts: Map<string, RuleShape> };
const shapeMemo = new WeakMap<PolicyRule, ShapeMemo>();

/**
 * The shape of one policy rule in one direction (a parsed rule belongs to one direction of one policy),
 * cached per parsed rule: it depends on the rule alone, except ingress rules with named ports, which
 * resolve per destination pod (spec) and so on its ports.
 */
function ruleShape(rule: PolicyRule, direction: Direction, ports: readonly NamedPort[]): RuleShape {
  let memo = shapeMemo.get(rule);
  if (!memo) shapeMemo.set(rule, (memo = { named: direction === 'ingress' && rule.ports !== 'any' && rule.ports.some((p) => p.kind === 'named'), byPorts: new Map() }));
  if (!memo.named) return (memo.plain ??= buildShape(rule, direction, ports));
  const key = portsKey(ports);
  let shape = memo.byPorts.get(key);
  if (!shape) memo.byPorts.set(key, (shape = buildShape(rule, direction, ports)));
  return shape;
}

const origins = new WeakMap<PolicyRule, { readonly originKey: string; readonly origin: RuleOrigin }>();
/** A policy rule's origin and its key, made once per parsed rule (not once per pod it applies to). */
function originOf(policy: ParsedPolicy, rule: PolicyRule): { readonly originKey: string; readonly origin: RuleOrigin } {
  let out = origins.get(rule);
  if (!out) origins.set(rule, (out = { originKey: `${policy.ref}#${rule.index}`, origin: { policy: policy.ref, rule: rule.index } }));
  return out;
}

const portsKeys = new WeakMap<readonly NamedPort[], string>();
/** A pod's ports as a memo key, printed once per ports list. */
function portsKey(ports: readonly NamedPort[]): string {
  let key = portsKeys.get(ports);
  if (key === undefined) portsKeys.set(ports, (key = JSON.stringify(ports)));
  return key;
}

function buildShape(rule: PolicyRule, direction: Direction, podPorts: readonly NamedPort[]): RuleShape {
  const sets: SetSpec[] = [];
  const peerIds =
    rule.peers === 'any'
      ? ('any' as const)
      : rule.peers.map((peer) => {
          const spec = peer.kind === 'pods' ? podSetSpec(peer) : cidrSetSpec(peer);
          sets.push(spec);
          return spec.id;
        });
  const terms: Term[] = [];
  if (rule.ports === 'any') {
    terms.push({ kind: 'peers', peers: peerIds, ports: 'any' });
  } else {
    const numeric: PortMatch[] = [];
    for (const port of rule.ports) {
      if (port.kind === 'number') {
        numeric.push({ protocol: port.protocol, ...(port.port !== undefined ? { port: port.port } : {}), ...(port.endPort !== undefined ? { endPort: port.endPort } : {}) });
      } else if (direction === 'ingress') {
        // spec: a named port resolves against the destination pod, protocol included; no match, no port
        for (const p of podPorts) if (p.name === port.name && p.protocol === port.protocol) numeric.push({ protocol: p.protocol, port: p.port });
      } else {
        for (const peer of rule.peers === 'any' ? (['any'] as const) : rule.peers) {
          const spec = podPortSetSpec(peer, port.name, port.protocol);
          sets.push(spec);
          terms.push({ kind: 'peer-ports', set: spec.id });
        }
      }
    }
    if (numeric.length > 0) terms.unshift({ kind: 'peers', peers: peerIds, ports: normalizePorts(numeric) });
  }
  const uniqueTerms = [...new Map(terms.map((t) => [JSON.stringify(t), t])).values()];
  return { id: `r${shortHash({ direction, terms: uniqueTerms })}`, terms: uniqueTerms, sets };
}

/** Sorted, deduplicated port matches; a whole-protocol match absorbs that protocol's ports. */
export function normalizePorts(ports: readonly PortMatch[]): PortMatch[] {
  const whole = new Set(ports.filter((p) => p.port === undefined).map((p) => p.protocol));
  const kept = ports.filter((p) => p.port === undefined || !whole.has(p.protocol));
  const unique = [...new Map(kept.map((p) => [`${p.protocol}|${p.port ?? ''}|${p.endPort ?? ''}`, p])).values()];
  return unique.sort((a, b) => (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : (a.port ?? 0) - (b.port ?? 0) || (a.endPort ?? 0) - (b.endPort ?? 0)));
}

function byOrigin(a: RuleOrigin, b: RuleOrigin): number {
  return a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : a.rule - b.rule;
}

export { nodesOf };

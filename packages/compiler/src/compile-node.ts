import {
  makeRuleSet, shortHash,
  type AddressSet, type Direction, type LocalPod, type PodDirection, type PortMatch, type Rule, type RuleOrigin, type RuleSet,
  type RuleSetVersion, type Term, type TierRule,
} from '@knp/shared';
import { localPods, nodesOf, policiesSelecting, sameItems } from './derived.js';
import { cidrSetSpec, materialize, podPortSetSpec, podSetSpec, type SetSpec } from './address-sets.js';
import { ownedIps, type ClusterState } from './state.js';
import type { ParsedPolicy, PolicyRecord, PolicyRule } from './policy.js';
import { table, type Table } from './table.js';
import { podTiers, tierRejections, withTiers } from './compile-tiers.js';
import type { ClusterPolicyRecord } from './cluster-policy.js';
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
  const rules = new Map<string, { direction: Direction; terms: readonly Term[]; origins: Map<string, RuleOrigin> }>();
  const specs = new Map<string, SetSpec>();
  const pods: LocalPod[] = [];
  const namespaces = new Set<string>();
  const tierRules = new Map<string, TierRule>();
  const applied = new Set<ClusterPolicyRecord>();

  for (const pod of localPods(state, node)) {
    const entry = podEntry(state, pod);
    if (!entry) continue; // its IP belongs to a newer pod now
    namespaces.add(pod.namespace);
    const tiers = podTiers(state, pod); // ClusterNetworkPolicy tiers (compile-tiers.ts)
    pods.push(tiers ? withTiers(entry.local, tiers) : entry.local);
    for (const use of tiers?.uses ?? []) {
      tierRules.set(use.rule.id, use.rule);
      for (const spec of use.sets) specs.set(spec.id, spec);
    }
    for (const policy of tiers?.policies ?? []) applied.add(policy);
    for (const use of entry.uses) {
      let rule = rules.get(use.shape.id);
      if (!rule) rules.set(use.shape.id, (rule = { direction: use.direction, terms: use.shape.terms, origins: new Map() }));
      rule.origins.set(use.originKey, use.origin);
      for (const spec of use.shape.sets) specs.set(spec.id, spec);
    }
  }

  const ruleList: Rule[] = [...rules.entries()]
    .map(([id, r]) => ({ id, direction: r.direction, terms: r.terms, origins: [...r.origins.values()].sort(byOrigin) }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const setList: AddressSet[] = [...specs.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((spec) => materialize(state, spec));
  const rejections = [...namespaces].sort().flatMap((ns) => Object.values(state.policies[ns] ?? table<PolicyRecord>()).flatMap((p) => p.rejections));
  rejections.push(...tierRejections(applied));
  const tierList = [...tierRules.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const content = { node, pods, rules: ruleList, sets: setList, ...(tierList.length > 0 ? { tierRules: tierList } : {}) };
  return { ruleSet: makeRuleSet(content, version), rejections };
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
  const selecting = policiesSelecting(state, pod);
  const uses: PodEntry['uses'][number][] = [];
  const direction = (dir: Direction): PodDirection => {
    const isolating = selecting.filter((p) => p[dir] !== undefined);
    const ruleIds = new Set<string>();
    for (const policy of isolating)
      for (const rule of policy[dir]!) {
        const shape = ruleShape(policy, rule, dir, pod.ports);
        uses.push({ direction: dir, shape, originKey: `${policy.ref}#${rule.index}`, origin: { policy: policy.ref, rule: rule.index } });
        ruleIds.add(shape.id);
      }
    return { isolated: isolating.length > 0, policies: isolating.map((p) => p.ref), rules: [...ruleIds].sort() };
  };
  const local: LocalPod = { uid: pod.uid, pod: `${pod.namespace}/${pod.name}`, ips, ingress: direction('ingress'), egress: direction('egress') };
  const entry = { local, uses };
  entryMemo.set(pod, { policies, ips, entry });
  return entry;
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

const shapeMemo = new WeakMap<ParsedPolicy, Map<string, RuleShape>>();

/**
 * The shape of one policy rule in one direction, cached per parsed policy: it depends on the policy alone,
 * except ingress rules with named ports, which resolve per destination pod (spec) and so on its ports.
 */
function ruleShape(policy: ParsedPolicy, rule: PolicyRule, direction: Direction, ports: readonly NamedPort[]): RuleShape {
  const namedIngress = direction === 'ingress' && rule.ports !== 'any' && rule.ports.some((p) => p.kind === 'named');
  const key = `${direction}|${rule.index}${namedIngress ? `|${JSON.stringify(ports)}` : ''}`;
  let byKey = shapeMemo.get(policy);
  if (!byKey) shapeMemo.set(policy, (byKey = new Map()));
  let shape = byKey.get(key);
  if (!shape) byKey.set(key, (shape = buildShape(rule, direction, ports)));
  return shape;
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

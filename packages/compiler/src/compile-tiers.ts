import { shortHash, type Direction, type LocalPod, type PodDirection, type PortMatch, type Rejection, type Term, type Tier, type TierRule } from '@knp/shared';
import { cidrSetSpec, nodesSetSpec, podPortSetSpec, podSetSpec, type SetSpec } from './address-sets.js';
import type { ClusterPolicyRecord, ClusterRule } from './cluster-policy.js';
import { normalizePorts } from './compile-node.js';
import type { NamedPort, NamespaceRecord, PodRecord } from './records.js';
import { matches } from './selector.js';
import type { ClusterState } from './state.js';

/*
 * ClusterNetworkPolicy compiled for one local pod: the tier rules that apply to it per direction, in the
 * order the kernel evaluates them. Policies are ordered by (tier, priority, name): the API leaves the order of
 * two policies of one priority to the implementation, knp makes it the name so every compile (and every node)
 * agrees; within a policy, rules keep their written order.
 */

/** A compiled tier rule and the specs of the sets its terms name. */
export type TierUse = { readonly rule: TierRule; readonly sets: readonly SetSpec[] };

/** What the tiers add to a pod: its admin/baseline lists per direction, the rules they name, the policies that apply. */
export type PodTiers = {
  readonly ingress: Pick<PodDirection, 'admin' | 'baseline'>;
  readonly egress: Pick<PodDirection, 'admin' | 'baseline'>;
  readonly uses: readonly TierUse[];
  readonly policies: readonly ClusterPolicyRecord[];
};

const TIER_ORDER: Readonly<Record<Tier, number>> = { admin: 0, baseline: 1 };

const sortedMemo = new WeakMap<ClusterState['clusterPolicies'], readonly ClusterPolicyRecord[]>();
/** Every ClusterNetworkPolicy by (tier, priority, name): the evaluation order, deterministic for equal priorities. */
export function clusterPoliciesInOrder(state: ClusterState): readonly ClusterPolicyRecord[] {
  let out = sortedMemo.get(state.clusterPolicies);
  if (!out) {
    const list = Object.values(state.clusterPolicies);
    list.sort((a, b) => TIER_ORDER[a.tier] - TIER_ORDER[b.tier] || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    sortedMemo.set(state.clusterPolicies, (out = list));
  }
  return out;
}

/** spec: a subject selects pods by their namespace's labels (and their own); host-network pods never (isLive excludes them). */
function selects(policy: ClusterPolicyRecord, pod: PodRecord, ns: NamespaceRecord | undefined): boolean {
  if (!ns || !matches(policy.subject.namespaceSelector, ns.labels)) return false;
  return policy.subject.kind === 'namespaces' || matches(policy.subject.podSelector, pod.labels);
}

type Cached = { readonly policies: ClusterState['clusterPolicies']; readonly ns: NamespaceRecord | undefined; readonly tiers: PodTiers | undefined };
const podMemo = new WeakMap<PodRecord, Cached>();

/**
 * The tiers of one live local pod, undefined when no ClusterNetworkPolicy applies to it. Memoised per pod
 * record while the policy table and the pod's namespace record are the same objects.
 */
export function podTiers(state: ClusterState, pod: PodRecord): PodTiers | undefined {
  const ns = state.namespaces[state.namespaceUids[pod.namespace] ?? ''];
  const hit = podMemo.get(pod);
  if (hit && hit.policies === state.clusterPolicies && hit.ns === ns) return hit.tiers;
  const applying = clusterPoliciesInOrder(state).filter((p) => selects(p, pod, ns));
  const tiers = applying.length === 0 ? undefined : buildTiers(applying, pod.ports);
  podMemo.set(pod, { policies: state.clusterPolicies, ns, tiers });
  return tiers;
}

function buildTiers(policies: readonly ClusterPolicyRecord[], ports: readonly NamedPort[]): PodTiers {
  const uses: TierUse[] = [];
  const direction = (dir: Direction): Pick<PodDirection, 'admin' | 'baseline'> => {
    const lists: Record<Tier, string[]> = { admin: [], baseline: [] };
    for (const policy of policies)
      for (const rule of policy[dir]) {
        const use = tierRule(policy, rule, dir, ports);
        if (!use) continue;
        uses.push(use);
        lists[policy.tier].push(use.rule.id);
      }
    return { ...(lists.admin.length > 0 ? { admin: lists.admin } : {}), ...(lists.baseline.length > 0 ? { baseline: lists.baseline } : {}) };
  };
  return { ingress: direction('ingress'), egress: direction('egress'), uses, policies };
}

const localMemo = new WeakMap<LocalPod, { readonly tiers: PodTiers; readonly local: LocalPod }>();
/** The pod's IR entry with its tier lists added (absent lists stay absent, so a pod without tiers hashes as before). */
export function withTiers(local: LocalPod, tiers: PodTiers): LocalPod {
  const hit = localMemo.get(local);
  if (hit && hit.tiers === tiers) return hit.local;
  const out: LocalPod = { ...local, ingress: { ...local.ingress, ...tiers.ingress }, egress: { ...local.egress, ...tiers.egress } };
  localMemo.set(local, { tiers, local: out });
  return out;
}

/** Rejections of the ClusterNetworkPolicies that apply to any of these pods, by policy name. */
export function tierRejections(applied: ReadonlySet<ClusterPolicyRecord>): Rejection[] {
  return [...applied].sort((a, b) => (a.name < b.name ? -1 : 1)).flatMap((p) => p.rejections);
}

const ruleMemo = new WeakMap<ClusterPolicyRecord, Map<string, TierUse | undefined>>();

/**
 * One rule compiled, cached per policy record: it depends on the policy alone, except ingress rules with
 * named ports, which resolve against the destination (local) pod's ports.
 */
function tierRule(policy: ClusterPolicyRecord, rule: ClusterRule, direction: Direction, ports: readonly NamedPort[]): TierUse | undefined {
  const named = direction === 'ingress' && rule.kind === 'match' && rule.ports !== 'any' && rule.ports.some((p) => p.kind === 'named');
  const key = `${direction}|${rule.index}${named ? `|${JSON.stringify(ports)}` : ''}`;
  let byKey = ruleMemo.get(policy);
  if (!byKey) ruleMemo.set(policy, (byKey = new Map()));
  if (!byKey.has(key)) byKey.set(key, buildRule(policy, rule, direction, ports));
  return byKey.get(key);
}

function buildRule(policy: ClusterPolicyRecord, rule: ClusterRule, direction: Direction, podPorts: readonly NamedPort[]): TierUse | undefined {
  const origin = { policy: policy.name, tier: policy.tier, priority: policy.priority, rule: rule.index };
  const make = (action: TierRule['action'], terms: readonly Term[], sets: readonly SetSpec[]): TierUse => ({
    rule: { id: `t${shortHash({ direction, action, terms, origin })}`, direction, action, terms, origin },
    sets,
  });
  if (rule.kind === 'failed') {
    // spec (fail closed): an unreadable Accept rule matches nothing; a Deny or Pass rule denies everything
    return rule.action === 'Accept' ? undefined : make('Deny', [{ kind: 'peers', peers: 'any', ports: 'any' }], []);
  }
  const sets = new Map<string, SetSpec>();
  for (const peer of rule.peers) {
    const spec = peer.kind === 'pods' ? podSetSpec(peer) : peer.kind === 'ipBlock' ? cidrSetSpec(peer) : nodesSetSpec(peer);
    sets.set(spec.id, spec);
  }
  const peerIds = [...sets.keys()];
  const terms: Term[] = [];
  if (rule.ports === 'any') terms.push({ kind: 'peers', peers: peerIds, ports: 'any' });
  else {
    const numeric: PortMatch[] = [];
    for (const port of rule.ports) {
      if (port.kind === 'number') {
        numeric.push({ protocol: port.protocol, port: port.port, ...(port.endPort !== undefined ? { endPort: port.endPort } : {}) });
      } else if (direction === 'ingress') {
        // spec: a named port resolves against the destination pod's container ports of that name, any protocol
        for (const p of podPorts) if (p.name === port.name) numeric.push({ protocol: p.protocol, port: p.port });
      } else {
        for (const peer of rule.peers) {
          if (peer.kind !== 'pods') continue; // the parser refuses named ports with networks or nodes peers
          const spec = podPortSetSpec(peer, port.name, undefined);
          sets.set(spec.id, spec);
          terms.push({ kind: 'peer-ports', set: spec.id });
        }
      }
    }
    if (numeric.length > 0) terms.unshift({ kind: 'peers', peers: peerIds, ports: normalizePorts(numeric) });
  }
  const unique = [...new Map(terms.map((t) => [JSON.stringify(t), t])).values()];
  // a rule whose named ports resolve to nothing matches nothing, whatever its action
  return unique.length === 0 ? undefined : make(rule.action, unique, [...sets.values()]);
}

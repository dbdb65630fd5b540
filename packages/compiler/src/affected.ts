import type { FoldEvent } from './fold-event.js';
import { matches, type Labels } from './selector.js';
import { clusterNamespaceLabels, livePodsIn, nodesOf, policiesIn } from './derived.js';
import { isLive, type PodRecord } from './records.js';
import { ipShard, type ClusterState } from './state.js';
import type { ParsedPolicy, PolicyRule } from './policy.js';
import type { ClusterPeer, ClusterPolicyRecord } from './cluster-policy.js';

type RuleVisitor = (policy: ParsedPolicy, rule: PolicyRule, direction: 'ingress' | 'egress') => void;

/**
 * The nodes whose rule sets one event can change, so a follower recompiles only those. Precise where it
 * is cheap (a rule counts only if the changed pod or namespace enters, leaves or changes inside one of
 * its sets), conservative elsewhere (a pod sharing an IP with the changed one counts as changed). A
 * property test checks it against full compiles.
 */
export function affectedNodes(prev: ClusterState, next: ClusterState, event: FoldEvent): string[] {
  const every = (): string[] => [...new Set([...nodesOf(prev), ...nodesOf(next)])].sort();
  if (event.op === 'sync') return every();
  // ClusterNetworkPolicy: a policy's rules reach the nodes of its subject pods only. A policy event counts
  // for the subjects of its old and new version; a Node whose labels or addresses change, for the subjects
  // of every policy with a nodes peer; a pod that a policy's pod peer may select (or that shares an IP with
  // one), for that policy's subjects. A Namespace event (labels move subjects and peers at once) recompiles
  // every node while any policy exists: conservative, and namespace events are rare.
  const nodes = new Set<string>();
  const addClusterTargetsOf = (policy: ClusterPolicyRecord): void => {
    addClusterTargets(prev, policy, nodes);
    addClusterTargets(next, policy, nodes);
  };
  if (event.kind === 'ClusterNetworkPolicy') {
    for (const state of [prev, next]) {
      const policy = state.clusterPolicies[event.uid];
      if (policy) addClusterTargets(state, policy, nodes);
    }
    return [...nodes].sort();
  }
  if (event.kind === 'Node') {
    if (nodeChanged(prev, next, event.uid))
      for (const policy of new Set([...Object.values(prev.clusterPolicies), ...Object.values(next.clusterPolicies)]))
        if ([...policy.ingress, ...policy.egress].some((r) => r.kind === 'match' && r.peers.some((p) => p.kind === 'nodes'))) addClusterTargetsOf(policy);
    return [...nodes].sort();
  }
  if (event.kind === 'Namespace' && hasClusterPolicies(prev, next)) return every();
  if (event.kind === 'Pod') for (const policy of clusterPoliciesPeering(prev, next, event.namespace, event.uid)) addClusterTargetsOf(policy);
  const addTargetsOf = (policy: ParsedPolicy): void => {
    addTargets(prev, policy, nodes);
    addTargets(next, policy, nodes);
  };
  switch (event.kind) {
    case 'NetworkPolicy':
      for (const state of [prev, next]) {
        const policy = state.policies[event.namespace]?.[event.uid]?.parsed;
        if (policy) addTargets(state, policy, nodes);
      }
      break;
    case 'Pod': {
      const before = prev.pods[event.namespace]?.[event.uid];
      const after = next.pods[event.namespace]?.[event.uid];
      for (const pod of [before, after]) if (pod?.node) nodes.add(pod.node);
      // pods sharing one of its IPs may gain or lose that IP (the newest claim owns it): changed in any way
      const sharers = [...ipSharers(prev, before), ...ipSharers(next, after)];
      for (const pod of sharers) if (pod.node) nodes.add(pod.node);
      // the usual change, labels alone: only rules naming a changed label key can select it differently
      const changedKeys = sharers.length === 0 && before && after ? labelsOnlyChange(before, after) : undefined;
      forEachRule(next, (policy, rule, direction) => {
        if (changedKeys && !namesAnyKey(rule, changedKeys)) return;
        const was = before !== undefined && isLive(before) && ruleMaySelect(prev, rule, direction, before.namespace, before.labels);
        const is = after !== undefined && isLive(after) && ruleMaySelect(next, rule, direction, after.namespace, after.labels);
        const contributionChanged = was && is && (!sameList(before!.ips, after!.ips) || JSON.stringify(before!.ports) !== JSON.stringify(after!.ports));
        if (was !== is || contributionChanged || sharers.some((p) => ruleMaySelect(next, rule, direction, p.namespace, p.labels))) addTargetsOf(policy);
      });
      break;
    }
    case 'Namespace': {
      // the labels that selectors see for this name, before and after (a name may move to a new uid)
      const labelsOf = (state: ClusterState): Labels | undefined => state.namespaces[state.namespaceUids[event.name] ?? '']?.labels;
      const before = labelsOf(prev), after = labelsOf(next);
      const visit: RuleVisitor = (policy, rule) => {
        if (rule.peers === 'any') return;
        const hit = rule.peers.some(
          (peer) => peer.kind === 'pods' && peer.namespaceSelector && (before !== undefined && matches(peer.namespaceSelector, before)) !== (after !== undefined && matches(peer.namespaceSelector, after)),
        );
        if (hit) addTargetsOf(policy);
      };
      forEachRule(prev, visit);
      forEachRule(next, visit);
      break;
    }
  }
  return [...nodes].sort();
}

const hasClusterPolicies = (prev: ClusterState, next: ClusterState): boolean =>
  Object.keys(prev.clusterPolicies).length > 0 || Object.keys(next.clusterPolicies).length > 0;

function nodeChanged(prev: ClusterState, next: ClusterState, uid: string): boolean {
  const a = prev.nodes[uid], b = next.nodes[uid];
  return a === undefined || b === undefined ? a !== b : JSON.stringify([a.labels, a.ips]) !== JSON.stringify([b.labels, b.ips]);
}

/**
 * The ClusterNetworkPolicies a pod peer of which may select this pod, or a pod sharing one of its IPs
 * (which may gain or lose that IP), before or after the event.
 */
function clusterPoliciesPeering(prev: ClusterState, next: ClusterState, namespace: string, uid: string): Set<ClusterPolicyRecord> {
  const out = new Set<ClusterPolicyRecord>();
  if (!hasClusterPolicies(prev, next)) return out; // the usual cluster: nothing to look up per pod event
  const before = prev.pods[namespace]?.[uid], after = next.pods[namespace]?.[uid];
  // labels alone changed (same addresses, ports, node, liveness; no IP shared): a peer set changes only
  // where the pod moves in or out of it, so only policies with such a peer reach other nodes
  const labelsOnly = before && after && ipSharers(prev, before).length === 0 && ipSharers(next, after).length === 0 && labelsOnlyChange(before, after) !== undefined;
  if (labelsOnly) {
    const selects = (state: ClusterState, pod: PodRecord, peer: ClusterPeer): boolean =>
      peer.kind === 'pods' && matches(peer.namespaceSelector!, clusterNamespaceLabels(state, pod.namespace)) && matches(peer.podSelector, pod.labels);
    for (const policy of new Set([...Object.values(prev.clusterPolicies), ...Object.values(next.clusterPolicies)]))
      for (const rule of [...policy.ingress, ...policy.egress])
        if (rule.kind === 'match' && rule.peers.some((peer) => selects(prev, before, peer) !== selects(next, after, peer))) out.add(policy);
    return out;
  }
  for (const state of [prev, next]) {
    const pod = state.pods[namespace]?.[uid];
    if (!pod || Object.keys(state.clusterPolicies).length === 0) continue;
    for (const p of [pod, ...ipSharers(prev, pod), ...ipSharers(next, pod)]) {
      const nsLabels = clusterNamespaceLabels(state, p.namespace); // as the peer sets read it
      for (const policy of Object.values(state.clusterPolicies))
        for (const rule of [...policy.ingress, ...policy.egress])
          if (rule.kind === 'match' && rule.peers.some((peer) => peer.kind === 'pods' && matches(peer.namespaceSelector!, nsLabels) && matches(peer.podSelector, p.labels))) out.add(policy);
    }
  }
  return out;
}

/** Adds the nodes of the live pods a ClusterNetworkPolicy's subject selects (a missing namespace record has no labels, as in podTiers). */
function addClusterTargets(state: ClusterState, policy: ClusterPolicyRecord, nodes: Set<string>): void {
  const { subject } = policy;
  for (const namespace of Object.keys(state.pods)) {
    if (!matches(subject.namespaceSelector, clusterNamespaceLabels(state, namespace))) continue;
    for (const pod of livePodsIn(state.pods[namespace]))
      if (pod.node && (subject.kind === 'namespaces' || matches(subject.podSelector, pod.labels))) nodes.add(pod.node);
  }
}

function forEachRule(state: ClusterState, visit: RuleVisitor): void {
  for (const namespace of Object.keys(state.policies))
    for (const policy of policiesIn(state, namespace)) {
      for (const rule of policy.ingress ?? []) visit(policy, rule, 'ingress');
      for (const rule of policy.egress ?? []) visit(policy, rule, 'egress');
    }
}

/** Other pods claiming one of this pod's IPs. */
function ipSharers(state: ClusterState, pod: PodRecord | undefined): PodRecord[] {
  if (!pod) return [];
  return pod.ips.flatMap((ip) =>
    (state.ipClaims[ipShard(ip)]?.[ip] ?? []).flatMap((claim) => {
      const other = state.pods[claim.namespace]?.[claim.uid];
      return other && other.uid !== pod.uid ? [other] : [];
    }),
  );
}

/** Could this rule's address sets contain a pod with these labels in this namespace? */
function ruleMaySelect(state: ClusterState, rule: PolicyRule, direction: 'ingress' | 'egress', namespace: string, labels: Labels): boolean {
  const namedEgress = direction === 'egress' && rule.ports !== 'any' && rule.ports.some((p) => p.kind === 'named');
  if (rule.peers === 'any') return namedEgress; // only named-port sets list pods for an empty peer list
  const nsLabels = state.namespaces[state.namespaceUids[namespace] ?? '']?.labels;
  return rule.peers.some((peer) => {
    if (peer.kind === 'ipBlock') return namedEgress;
    const nsOk = peer.namespaceSelector ? nsLabels !== undefined && matches(peer.namespaceSelector, nsLabels) : peer.namespace === namespace;
    return nsOk && matches(peer.podSelector, labels);
  });
}

/** Adds the nodes of the live pods a policy selects. */
function addTargets(state: ClusterState, policy: ParsedPolicy, nodes: Set<string>): void {
  for (const pod of livePodsIn(state.pods[policy.namespace])) if (pod.node && matches(policy.podSelector, pod.labels)) nodes.add(pod.node);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The label keys whose values differ when two records of a live pod differ in labels alone (same
 * namespace, node, addresses, ports, liveness); undefined for any other change.
 */
function labelsOnlyChange(before: PodRecord, after: PodRecord): Set<string> | undefined {
  if (!isLive(before) || !isLive(after) || before.namespace !== after.namespace || before.node !== after.node) return undefined;
  if (!sameList(before.ips, after.ips) || JSON.stringify(before.ports) !== JSON.stringify(after.ports)) return undefined;
  const keys = new Set<string>();
  for (const key of Object.keys(before.labels)) if (before.labels[key] !== after.labels[key]) keys.add(key);
  for (const key of Object.keys(after.labels)) if (before.labels[key] !== after.labels[key]) keys.add(key);
  return keys;
}

const ruleKeys = new WeakMap<PolicyRule, ReadonlySet<string>>();
/** Whether a pod selector of one of the rule's peers has a requirement on one of `keys`. */
function namesAnyKey(rule: PolicyRule, keys: ReadonlySet<string>): boolean {
  let named = ruleKeys.get(rule);
  if (!named) {
    const set = new Set<string>();
    if (rule.peers !== 'any') for (const peer of rule.peers) if (peer.kind === 'pods') for (const r of peer.podSelector.requirements) set.add(r.key);
    ruleKeys.set(rule, (named = set));
  }
  for (const key of keys) if (named.has(key)) return true;
  return false;
}

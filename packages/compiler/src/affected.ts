import type { FoldEvent } from './fold-event.js';
import { matches, type Labels } from './selector.js';
import { livePodsIn, nodesOf, policiesIn } from './derived.js';
import { isLive, type PodRecord } from './records.js';
import { ipShard, type ClusterState } from './state.js';
import type { ParsedPolicy, PolicyRule } from './policy.js';

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
  // ClusterNetworkPolicy, conservatively: a policy change, or a change of what its peers or subjects can
  // select (a Node's labels or addresses, a Namespace's labels, a pod some peer may select), recompiles
  // every node. Cluster policies are few and change rarely; a pod only its own node's subjects see is
  // counted below like any pod (its node).
  if (event.kind === 'ClusterNetworkPolicy') return every();
  if (event.kind === 'Node') return nodeChanged(prev, next, event.uid) && hasClusterPolicies(prev, next) ? every() : [];
  if (event.kind === 'Namespace' && hasClusterPolicies(prev, next)) return every();
  if (event.kind === 'Pod' && clusterPeerMaySelect(prev, next, event.namespace, event.uid)) return every();
  const nodes = new Set<string>();
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
      forEachRule(next, (policy, rule, direction) => {
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
 * Could a pod peer of some ClusterNetworkPolicy select this pod, or a pod sharing one of its IPs (which
 * may gain or lose that IP), before or after the event?
 */
function clusterPeerMaySelect(prev: ClusterState, next: ClusterState, namespace: string, uid: string): boolean {
  for (const state of [prev, next]) {
    const pod = state.pods[namespace]?.[uid];
    if (!pod || Object.keys(state.clusterPolicies).length === 0) continue;
    for (const p of [pod, ...ipSharers(prev, pod), ...ipSharers(next, pod)]) {
      const nsLabels = state.namespaces[state.namespaceUids[p.namespace] ?? '']?.labels;
      if (!nsLabels) continue;
      for (const policy of Object.values(state.clusterPolicies))
        for (const rule of [...policy.ingress, ...policy.egress])
          if (rule.kind === 'match' && rule.peers.some((peer) => peer.kind === 'pods' && matches(peer.namespaceSelector!, nsLabels) && matches(peer.podSelector, p.labels))) return true;
    }
  }
  return false;
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

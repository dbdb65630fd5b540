import type { ClusterEvent } from '@knp/shared';
import { matches } from './selector.js';
import { livePodsIn, nodesOf, policiesIn } from './derived.js';
import { ipShard, type ClusterState } from './state.js';
import type { ParsedPolicy, PolicyRule } from './policy.js';
import type { Labels } from './selector.js';
import type { PodRecord } from './records.js';

/**
 * The nodes whose rule sets one event can change, so a follower recompiles only those: the nodes of the
 * pods a changed policy selects (before and after), the nodes of a changed pod, and the nodes of pods
 * isolated by any policy whose peers may select the changed pod or namespace. Conservative, never narrower.
 */
export function affectedNodes(prev: ClusterState, next: ClusterState, event: ClusterEvent): string[] {
  const nodes = new Set<string>();
  if (event.op === 'sync') return [...new Set([...nodesOf(prev), ...nodesOf(next)])].sort();
  const namespace = event.namespace ?? '';
  switch (event.kind) {
    case 'NetworkPolicy': {
      for (const state of [prev, next]) {
        const policy = state.policies[namespace]?.[event.uid]?.parsed;
        if (policy) addTargets(state, policy, nodes);
      }
      break;
    }
    case 'Pod': {
      const changed: PodRecord[] = [];
      for (const state of [prev, next]) {
        const pod = state.pods[namespace]?.[event.uid];
        if (!pod) continue;
        changed.push(pod);
        if (pod.node) nodes.add(pod.node);
        // pods sharing one of its IPs may gain or lose that IP (the newest claim owns it)
        for (const ip of pod.ips)
          for (const claim of state.ipClaims[ipShard(ip)]?.[ip] ?? []) {
            const other = state.pods[claim.namespace]?.[claim.uid];
            if (other && other.uid !== pod.uid) changed.push(other), other.node && nodes.add(other.node);
          }
      }
      forEachRule(next, (policy, rule, direction) => {
        if (changed.some((pod) => ruleMaySelect(next, rule, direction, pod.namespace, pod.labels))) addTargets(next, policy, nodes), addTargets(prev, policy, nodes);
      });
      break;
    }
    case 'Namespace': {
      const labelSets = [prev, next].flatMap((s) => (s.namespaces[event.uid] ? [s.namespaces[event.uid]!.labels] : []));
      for (const state of [prev, next])
        forEachRule(state, (policy, rule) => {
          if (rule.peers === 'any') return;
          const hit = rule.peers.some((peer) => peer.kind === 'pods' && peer.namespaceSelector && labelSets.some((l) => matches(peer.namespaceSelector!, l)));
          if (hit) addTargets(prev, policy, nodes), addTargets(next, policy, nodes);
        });
      break;
    }
  }
  return [...nodes].sort();
}

function forEachRule(state: ClusterState, visit: (policy: ParsedPolicy, rule: PolicyRule, direction: 'ingress' | 'egress') => void): void {
  for (const namespace of Object.keys(state.policies))
    for (const policy of policiesIn(state, namespace)) {
      for (const rule of policy.ingress ?? []) visit(policy, rule, 'ingress');
      for (const rule of policy.egress ?? []) visit(policy, rule, 'egress');
    }
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

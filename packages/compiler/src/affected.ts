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
  if (event.op === 'sync') return [...new Set([...nodesOf(prev), ...nodesOf(next)])].sort();
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

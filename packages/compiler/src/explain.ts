import { InputError } from '@knp/shared';
import type { Protocol, RuleSet } from '@knp/shared';
import { evaluate, type SideVerdict } from './evaluate.js';
import { allLivePods } from './derived.js';
import { ownedIps, type ClusterState } from './state.js';
import { has, type Table } from './table.js';

/** A pod that traffic can be explained for: live, with an IP and a node. */
export type ClusterPod = { readonly ref: string; readonly uid: string; readonly node: string; readonly ips: readonly string[] };

/** Every live pod with an owned IP and a node, sorted by namespace/name. */
export function clusterPods(state: ClusterState): ClusterPod[] {
  return allLivePods(state)
    .map((p) => ({ ref: `${p.namespace}/${p.name}`, uid: p.uid, node: p.node!, ips: ownedIps(state, p) }))
    .filter((p) => p.ips.length > 0)
    .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

export type Explanation = {
  readonly from: string;
  readonly to: string;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly allowed: boolean;
  /** The source pod's egress, decided on the source's node. */
  readonly egress: SideVerdict & { readonly node: string };
  /** The destination pod's ingress, decided on the destination's node. */
  readonly ingress: SideVerdict & { readonly node: string };
};

export class ExplainError extends InputError {
  override name = 'ExplainError';
}

/**
 * Explains traffic from one pod to another on a port, from the compiled per-node rule sets alone:
 * allowed when the source's egress (on its node) and the destination's ingress (on its node) both allow it.
 */
export function explain(state: ClusterState, ruleSets: Table<RuleSet>, from: string, to: string, port: number, protocol: Protocol): Explanation {
  const pods = new Map(clusterPods(state).map((p) => [p.ref, p]));
  const src = pods.get(from), dst = pods.get(to);
  if (!src) throw new ExplainError(`pod ${from} is not a running pod with an IP and a node`);
  if (!dst) throw new ExplainError(`pod ${to} is not a running pod with an IP and a node`);
  return explainPair(ruleSets, src, dst, port, protocol);
}

function explainPair(ruleSets: Table<RuleSet>, src: ClusterPod, dst: ClusterPod, port: number, protocol: Protocol): Explanation {
  const destinationIp = dst.ips[0]!;
  const family = destinationIp.includes(':') ? 6 : 4;
  const sourceIp = src.ips.find((ip) => (ip.includes(':') ? 6 : 4) === family) ?? src.ips[0]!;
  const side = (pod: ClusterPod, direction: 'ingress' | 'egress', peerIp: string) => {
    const ruleSet = has(ruleSets, pod.node) ? ruleSets[pod.node] : undefined;
    const local = ruleSet?.pods.find((p) => p.uid === pod.uid);
    // a pod its node's rule set does not list is not isolated: Kubernetes default-allow
    const verdict: SideVerdict = ruleSet && local ? evaluate(ruleSet, local, direction, { peerIp, protocol, port }) : { allowed: true, decidedBy: { tier: 'default' }, isolated: false, policies: [], allowedBy: [] };
    return { ...verdict, node: pod.node };
  };
  const egress = side(src, 'egress', destinationIp);
  const ingress = side(dst, 'ingress', sourceIp);
  return { from: src.ref, to: dst.ref, sourceIp, destinationIp, port, protocol, allowed: egress.allowed && ingress.allowed, egress, ingress };
}

export type Matrix = { readonly pods: readonly string[]; readonly port: number; readonly protocol: Protocol; readonly allowed: readonly (readonly boolean[])[] };

/** The whole pod x pod matrix (rows sources, columns destinations, pods sorted; diagonal included). */
export function explainMatrix(state: ClusterState, ruleSets: Table<RuleSet>, port: number, protocol: Protocol): Matrix {
  const pods = clusterPods(state);
  return {
    pods: pods.map((p) => p.ref),
    port,
    protocol,
    allowed: pods.map((src) => pods.map((dst) => explainPair(ruleSets, src, dst, port, protocol).allowed)),
  };
}

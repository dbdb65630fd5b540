import type { Protocol } from '@knp/shared';
import { CNP_MATRIX_PODS, HOUSES, houseNamespace, type CnpAction, type House } from './cnp-model.js';
import { Reachability } from './reachability.js';

/**
 * The verdict tables upstream's test comments spell out ("ingressRule at index0 takes precedence ... thus
 * DENY"), for policies whose peers are whole houses: each pod direction walks its Admin rules (priority,
 * then policy name, then written order; first match decides, Pass leaves the tier), then a NetworkPolicy
 * isolating it, then its Baseline rules; nothing matching allows. Houses, not pods: every pod of a house
 * gets the same verdict, so the matrix is set namespace by namespace.
 */

/** A port or an inclusive range, per protocol; absent: every port of every protocol. */
export type HousePorts = Partial<Record<Protocol, number | readonly [number, number]>>;
/** A rule whose peer is one house's pods, every house's (`all-houses`: label Exists) or every namespace's (`all-namespaces`: `{}`). */
export type HouseRule = {
  readonly action: CnpAction;
  readonly peer: House | 'all-houses' | 'all-namespaces';
  readonly ports?: HousePorts;
  /** The named port the policy writes instead of `ports`; `ports` then says what it resolves to on every model pod. */
  readonly namedPort?: string;
};
export type HousePolicy = {
  readonly name: string;
  readonly tier: 'Admin' | 'Baseline';
  readonly priority: number;
  readonly subject: House;
  readonly ingress?: readonly HouseRule[];
  readonly egress?: readonly HouseRule[];
};
/** A NetworkPolicy isolating both directions of every pod of `subject`, allowing only the listed houses. */
export type HouseNetworkPolicy = { readonly subject: House; readonly ingressFrom: readonly House[]; readonly egressTo: readonly House[] };

function ruleMatches(rule: HouseRule, peer: House, protocol: Protocol, port: number): boolean {
  if (rule.peer !== 'all-houses' && rule.peer !== 'all-namespaces' && rule.peer !== peer) return false;
  if (rule.ports === undefined) return true;
  const p = rule.ports[protocol];
  return p !== undefined && (typeof p === 'number' ? p === port : port >= p[0] && port <= p[1]);
}

function tierVerdict(policies: readonly HousePolicy[], direction: 'ingress' | 'egress', peer: House, protocol: Protocol, port: number): CnpAction | undefined {
  // spec: lower priority first; same priority ordered by name (knp's documented tie-break)
  const ordered = [...policies].sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const policy of ordered)
    for (const rule of policy[direction] ?? []) if (ruleMatches(rule, peer, protocol, port)) return rule.action;
  return undefined;
}

/** Whether one direction of a pod of `self` lets traffic with a pod of `peer` through. */
export function houseAllows(
  policies: readonly HousePolicy[], networkPolicies: readonly HouseNetworkPolicy[],
  self: House, direction: 'ingress' | 'egress', peer: House, protocol: Protocol, port: number,
): boolean {
  const mine = policies.filter((p) => p.subject === self && p[direction] !== undefined);
  const admin = tierVerdict(mine.filter((p) => p.tier === 'Admin'), direction, peer, protocol, port);
  if (admin === 'Accept' || admin === 'Deny') return admin === 'Accept';
  const np = networkPolicies.filter((n) => n.subject === self);
  if (np.length > 0) return np.some((n) => (direction === 'ingress' ? n.ingressFrom : n.egressTo).includes(peer));
  const baseline = tierVerdict(mine.filter((p) => p.tier === 'Baseline'), direction, peer, protocol, port);
  return baseline !== 'Deny';
}

/** The full matrix over the model pods: allowed iff the source's egress and the destination's ingress allow. */
export function houseMatrix(policies: readonly HousePolicy[], networkPolicies: readonly HouseNetworkPolicy[], protocol: Protocol, port: number): Reachability {
  const r = new Reachability(CNP_MATRIX_PODS, true);
  for (const from of HOUSES)
    for (const to of HOUSES) {
      const allowed = houseAllows(policies, networkPolicies, from, 'egress', to, protocol, port) &&
        houseAllows(policies, networkPolicies, to, 'ingress', from, protocol, port);
      r.expectPeer({ ns: houseNamespace(from) }, { ns: houseNamespace(to) }, allowed);
    }
  return r;
}

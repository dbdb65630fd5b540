import type { Protocol } from '@knp/shared';
import {
  HOUSE_LABEL, SERVED_PORTS, clusterNetworkPolicy, houseNamespace,
  type ClusterNetworkPolicy, type CnpPeer, type CnpProtocol, type CnpSubject, type House,
} from './cnp-model.js';
import { houseMatrix, type HouseNetworkPolicy, type HousePolicy, type HousePorts, type HouseRule } from './cnp-expect.js';
import { NAMESPACE_NAME_LABEL, policy, type LabelSelector, type NetworkPolicy } from './model.js';
import type { Reachability } from './reachability.js';

/**
 * Builders for the ClusterNetworkPolicy table: HousePolicy -> the v1alpha2 object upstream's manifest
 * writes, and the scenario shape. Pure data.
 */

/** A probe to an address that is no pod's (a node address, an outside network): decided by the source's egress alone. */
export type ExternalProbe = { readonly from: string; readonly to: string; readonly ip: string; readonly allowed: boolean };

export type CnpScenario = {
  /** `<upstream file> <test>: <subtest> (<protocol>/<port>)`, or `knp: ...` for cases upstream has none of. */
  readonly name: string;
  /** The upstream test this replays (file under conformance/tests, ShortName, t.Run name); absent for knp's own. */
  readonly upstream?: { readonly file: string; readonly test: string; readonly subtest: string };
  /** The final policies (after the subtest's and earlier subtests' patches), on top of cnpModelObjects(). */
  readonly policies: readonly (ClusterNetworkPolicy | NetworkPolicy)[];
  readonly port: number;
  readonly protocol: Protocol;
  /** The pod x pod matrix over CNP_MATRIX_PODS. */
  readonly expected: Reachability;
  readonly external?: readonly ExternalProbe[];
  /** Set for knp's fail-closed cases: the compiler must report the rule it cannot read (every other scenario compiles without a rejection). */
  readonly failsClosed?: true;
  /** Set when a real kernel cannot replay the scenario, saying why. */
  readonly compilerOnly?: string;
};

export const NO_SCTP = 'SCTP: test kernels lack the sctp module';

/** How a policy's subject and house peers are written: upstream's manifests use all three. */
export type SelectorStyle = 'namespace-name' | 'house-namespaces' | 'house-pods';

const houseIs = (house: House): LabelSelector => ({ matchLabels: { [HOUSE_LABEL]: house } });
const nameIs = (house: House): LabelSelector => ({ matchLabels: { [NAMESPACE_NAME_LABEL]: houseNamespace(house) } });

export function houseSubject(house: House, style: SelectorStyle): CnpSubject {
  if (style === 'house-pods') return { pods: { namespaceSelector: houseIs(house), podSelector: houseIs(house) } };
  return { namespaces: style === 'namespace-name' ? nameIs(house) : houseIs(house) };
}

export function housePeer(peer: HouseRule['peer'], style: SelectorStyle): CnpPeer {
  if (peer === 'all-namespaces') return { namespaces: {} };
  if (peer === 'all-houses') return { namespaces: { matchExpressions: [{ key: HOUSE_LABEL, operator: 'Exists' }] } };
  return houseSubject(peer, style) as CnpPeer;
}

/** One `protocols` entry: a port number or range of one protocol. */
export function protocolPort(protocol: Protocol, port: number | readonly [number, number]): CnpProtocol {
  const destinationPort = typeof port === 'number' ? { number: port } : { range: { start: port[0], end: port[1] } };
  return protocol === 'TCP' ? { tcp: { destinationPort } } : protocol === 'UDP' ? { udp: { destinationPort } } : { sctp: { destinationPort } };
}

function protocolsOf(rule: HouseRule): CnpProtocol[] | undefined {
  if (rule.namedPort !== undefined) return [{ destinationNamedPort: rule.namedPort }];
  if (rule.ports === undefined) return undefined;
  return (['TCP', 'UDP', 'SCTP'] as const).flatMap((p) => (rule.ports![p] === undefined ? [] : [protocolPort(p, rule.ports![p]!)]));
}

/** The v1alpha2 object for a HousePolicy, peers and subject written in `style`. */
export function houseCnp(p: HousePolicy, style: SelectorStyle): ClusterNetworkPolicy {
  const rule = (r: HouseRule) => {
    const protocols = protocolsOf(r);
    return { action: r.action, peers: [housePeer(r.peer, style)], ...(protocols ? { protocols } : {}) };
  };
  return clusterNetworkPolicy(p.name, {
    tier: p.tier,
    priority: p.priority,
    subject: houseSubject(p.subject, style),
    ...(p.ingress ? { ingress: p.ingress.map((r) => { const { peers, ...rest } = rule(r); return { ...rest, from: peers }; }) } : {}),
    ...(p.egress ? { egress: p.egress.map((r) => { const { peers, ...rest } = rule(r); return { ...rest, to: peers }; }) } : {}),
  });
}

/** The NetworkPolicy of a HouseNetworkPolicy: every pod of the house, both directions, houses by label. */
export function houseNetworkPolicy(np: HouseNetworkPolicy, name: string): NetworkPolicy {
  return policy(houseNamespace(np.subject), name, {
    podSelector: {},
    policyTypes: ['Ingress', 'Egress'],
    ingress: np.ingressFrom.length > 0 ? [{ from: np.ingressFrom.map((h) => ({ namespaceSelector: houseIs(h) })) }] : [],
    egress: np.egressTo.length > 0 ? [{ to: np.egressTo.map((h) => ({ namespaceSelector: houseIs(h) })) }] : [],
  });
}

export type Upstream = { readonly file: string; readonly test: string };

/** One scenario per served port of each protocol, the matrix set by hand (`expect`) over an all-allowed start. */
export function scenariosFor(
  upstream: Upstream | undefined, subtest: string, policies: readonly (ClusterNetworkPolicy | NetworkPolicy)[], protocols: readonly Protocol[],
  expected: (protocol: Protocol, port: number) => Reachability, external?: (protocol: Protocol, port: number) => readonly ExternalProbe[],
  ports?: (protocol: Protocol) => readonly number[],
): CnpScenario[] {
  return protocols.flatMap((protocol) => (ports?.(protocol) ?? SERVED_PORTS[protocol]).map((port): CnpScenario => {
    const probes = external?.(protocol, port);
    return {
      name: `${upstream ? `${upstream.file} ${upstream.test}` : 'knp'}: ${subtest} (${protocol}/${port})`,
      ...(upstream ? { upstream: { ...upstream, subtest } } : {}),
      policies,
      port,
      protocol,
      expected: expected(protocol, port),
      ...(probes && probes.length > 0 ? { external: probes } : {}),
      ...(protocol === 'SCTP' ? { compilerOnly: NO_SCTP } : {}),
    };
  }));
}

/** A subtest over house policies: objects and matrix both come from the same HousePolicy list. */
export function houseScenarios(
  upstream: Upstream | undefined, subtest: string, policies: readonly HousePolicy[], style: SelectorStyle, protocols: readonly Protocol[],
  networkPolicies: readonly HouseNetworkPolicy[] = [],
): CnpScenario[] {
  const objects = [
    ...policies.map((p) => houseCnp(p, style)),
    ...networkPolicies.map((np, i) => houseNetworkPolicy(np, i === 0 ? 'allow-gress-from-to-slytherin-to-gryffindor' : `network-policy-${i}`)),
  ];
  return scenariosFor(upstream, subtest, objects, protocols, (protocol, port) => houseMatrix(policies, networkPolicies, protocol, port));
}

/** Swaps two rules, as upstream's tests patch their policies. */
export function swap<T>(rules: readonly T[], i: number, j: number): T[] {
  const out = [...rules];
  [out[i], out[j]] = [out[j]!, out[i]!];
  return out;
}

export type { HousePorts };

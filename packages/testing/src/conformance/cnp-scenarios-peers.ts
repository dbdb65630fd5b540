import type { Protocol } from '@knp/shared';
import { houseCnp, houseSubject, housePeer, scenariosFor, type CnpScenario, type ExternalProbe, type SelectorStyle, type Upstream } from './cnp-build.js';
import {
  CNP_MATRIX_PODS, CNP_NODES, CNP_NODE_IPS, HOST_NETWORK_PORTS, HOUSE_LABEL, NODE_OS_LABEL, POD_NAME_LABEL,
  clusterNetworkPolicy, houseNamespace, studentIp, studentName, studentRef,
  type ClusterNetworkPolicy, type CnpEgressRule, type CnpPeer, type House,
} from './cnp-model.js';
import { NAMESPACE_NAME_LABEL } from './model.js';
import { Reachability } from './reachability.js';

/**
 * The CNP scenarios whose peers are not whole houses, written out by hand: single pods (pod selectors),
 * networks (CIDRs, checked against pods and node addresses), nodes (node addresses, probed as
 * host-network servers), and knp's own fail-closed cases. Pure data.
 */

const all = (): Reachability => new Reachability(CNP_MATRIX_PODS, true);
const ns = (house: House) => ({ ns: houseNamespace(house) });
const podOf = (house: House, index: 0 | 1) => ({ ns: houseNamespace(house), pod: studentName(house, index) });
const tierFile = (tier: 'Admin' | 'Baseline', rest: string): string => `${tier === 'Admin' ? 'admin' : 'baseline-admin'}-network-policy-${rest}`;

/** Probes from every pod of `houses` to both nodes' addresses. */
function toNodes(houses: readonly House[], allowed: (house: House) => boolean): ExternalProbe[] {
  return houses.flatMap((house) => ([0, 1] as const).flatMap((i) =>
    CNP_NODES.map((node) => ({ from: studentRef(house, i), to: node, ip: CNP_NODE_IPS[node], allowed: allowed(house) }))));
}

/** standard-pod-selector-rules.go: subject and peers by pod label alone, and one pod by name. */
function podSelectorFile(tier: 'Admin' | 'Baseline'): CnpScenario[] {
  const onePod = { pods: { namespaceSelector: { matchLabels: { [HOUSE_LABEL]: 'hufflepuff' } }, podSelector: { matchLabels: { [POD_NAME_LABEL]: 'cedric-diggory-0' } } } };
  const byLabel = (house: House): CnpPeer => ({ pods: { podSelector: { matchLabels: { [HOUSE_LABEL]: house } } } });
  const policies: ClusterNetworkPolicy[] = [
    clusterNetworkPolicy('pod-selector-rules', {
      tier, priority: 20,
      subject: { pods: { podSelector: { matchLabels: { [HOUSE_LABEL]: 'gryffindor' } } } },
      egress: [{ action: 'Deny', to: [byLabel('ravenclaw')] }, { action: 'Deny', to: [onePod] }],
      ingress: [{ action: 'Deny', from: [byLabel('slytherin')] }, { action: 'Deny', from: [onePod] }],
    }),
    clusterNetworkPolicy('pod-name-subject-rules', {
      tier, priority: 21,
      subject: { pods: { namespaceSelector: { matchLabels: { [HOUSE_LABEL]: 'ravenclaw' } }, podSelector: { matchLabels: { [POD_NAME_LABEL]: 'luna-lovegood-0' } } } },
      egress: [{ action: 'Deny', to: [{ namespaces: { matchLabels: { [NAMESPACE_NAME_LABEL]: houseNamespace('slytherin') } } }] }],
    }),
  ];
  const expected = () => all()
    .expectPeer(ns('gryffindor'), ns('ravenclaw'), false)
    .expectPeer(ns('gryffindor'), podOf('hufflepuff', 0), false)
    .expectPeer(ns('slytherin'), ns('gryffindor'), false)
    .expectPeer(podOf('hufflepuff', 0), ns('gryffindor'), false)
    .expectPeer(podOf('ravenclaw', 0), ns('slytherin'), false);
  const upstream = { file: tierFile(tier, 'standard-pod-selector-rules.go'), test: `CNP${tier}TierPodSelector` };
  return ['Should support pod selectors in egress peers', 'Should support pod selectors in ingress peers', 'Should support pod selectors in the subject']
    .flatMap((subtest) => scenariosFor(upstream, subtest, policies, ['TCP'], expected));
}

/** standard-egress-inline-cidr-rules.go: networks peers (0.0.0.0/0 covers pods and nodes alike), then two /32s put first. */
function inlineCidrFile(tier: 'Admin' | 'Baseline'): CnpScenario[] {
  const style: SelectorStyle = tier === 'Admin' ? 'house-pods' : 'namespace-name';
  const base: CnpEgressRule[] = [
    { name: 'allow-egress-to-slytherin', action: 'Accept', to: [housePeer('slytherin', 'house-pods')] },
    { name: 'deny-egress-to-internet', action: 'Deny', to: [{ networks: ['0.0.0.0/0', '::/0'] }] },
  ];
  const cnp = (egress: CnpEgressRule[]) => clusterNetworkPolicy(tier === 'Admin' ? 'inline-cidr-as-peers-example' : 'default', {
    tier, priority: tier === 'Admin' ? 85 : 10, subject: houseSubject('gryffindor', style), egress,
  });
  const denied = () => all().expectPeer(ns('gryffindor'), {}, false).expectPeer(ns('gryffindor'), ns('slytherin'), true);
  const upstream = { file: tierFile(tier, 'standard-egress-inline-cidr-rules.go'), test: `CNP${tier}TierEgressInlineCIDRPeers` };
  const nodes = () => toNodes(['gryffindor', 'slytherin'], (h) => h !== 'gryffindor');
  const pinned: CnpEgressRule = {
    name: 'allow-egress-to-specific-podIPs', action: 'Accept', to: [{ networks: [`${studentIp('ravenclaw', 0)}/32`, `${studentIp('hufflepuff', 0)}/32`] }],
  };
  return [
    ...scenariosFor(upstream, "Should support a 'deny-egress' rule policy for egress-cidr-peer", [cnp(base)], ['TCP', 'UDP', 'SCTP'], denied, nodes),
    ...scenariosFor(upstream, "Should support an 'allow-egress' rule policy for egress-cidr-peer", [cnp([pinned, ...base])], ['TCP', 'UDP', 'SCTP'],
      () => denied().expectPeer(ns('gryffindor'), podOf('ravenclaw', 0), true).expectPeer(ns('gryffindor'), podOf('hufflepuff', 0), true), nodes),
  ];
}

const linuxNodes: CnpPeer = { nodes: { matchLabels: { [NODE_OS_LABEL]: 'linux' } } };
const everywhere: CnpPeer = { networks: ['0.0.0.0/0', '::/0'] };
const hostPort = (i: number): number => HOST_NETWORK_PORTS[i]!;

/** experimental-egress-rules.go EgressNodePeers: node addresses (the host-network servers) by Node labels. */
function nodePeersFile(tier: 'Admin' | 'Baseline'): CnpScenario[] {
  const egress: CnpEgressRule[] = tier === 'Admin'
    ? [
      { action: 'Accept', to: [linuxNodes], protocols: [{ tcp: { destinationPort: { number: hostPort(0) } } }] },
      { action: 'Pass', to: [linuxNodes], protocols: [{ udp: { destinationPort: { number: hostPort(2) } } }] },
      { action: 'Deny', to: [housePeer('slytherin', 'house-pods'), linuxNodes, everywhere] },
    ]
    : [
      { action: 'Accept', to: [linuxNodes], protocols: [{ tcp: { destinationPort: { range: { start: hostPort(0), end: hostPort(1) } } } }] },
      { action: 'Deny', to: [linuxNodes, everywhere] },
    ];
  const policy = clusterNetworkPolicy(tier === 'Admin' ? 'node-and-cidr-as-peers-example' : 'default', {
    tier, priority: tier === 'Admin' ? 75 : 10, subject: houseSubject('gryffindor', tier === 'Admin' ? 'house-pods' : 'namespace-name'), egress,
  });
  const upstream = { file: tierFile(tier, 'experimental-egress-rules.go'), test: `CNP${tier}TierEgressNodePeers` };
  // every subject egress to a pod falls to the final Deny (0.0.0.0/0), whatever the port
  const pods = () => all().expectPeer(ns('gryffindor'), {}, false);
  const run = (subtest: string, probes: readonly [Protocol, number, boolean][]) => probes.flatMap(([protocol, port, allowed]) =>
    scenariosFor(upstream, subtest, [policy], [protocol], pods, () => toNodes(['gryffindor', 'slytherin'], (h) => h !== 'gryffindor' || allowed), () => [port]));
  return tier === 'Admin'
    ? [
      ...run("Should support an 'allow-egress' rule policy for egress-node-peer", [['TCP', hostPort(0), true]]),
      ...run("Should support a 'pass-egress' rule policy for egress-node-peer", [['UDP', hostPort(2), true]]),
      ...run("Should support a 'deny-egress' rule policy for egress-node-peer", [['TCP', hostPort(1), false], ['UDP', hostPort(4), false], ['SCTP', hostPort(6), false]]),
    ]
    : [
      ...run("Should support an 'allow-egress' rule policy for egress-node-peer", [['TCP', hostPort(0), true], ['TCP', hostPort(1), true]]),
      ...run("Should support a 'deny-egress' rule policy for egress-node-peer", [['UDP', hostPort(2), false], ['SCTP', hostPort(6), false]]),
    ];
}

/**
 * knp's own: rules knp cannot read fail closed (a peer of no known kind or with no field set, domainNames
 * which knp does not enforce, a named port on a networks peer): an Accept matches nothing, a Deny or Pass
 * denies everything, and the rule is reported.
 */
function failClosed(): CnpScenario[] {
  const subject = houseSubject('gryffindor', 'namespace-name');
  // spec: domainNames is for Accept rules only; knp does not enforce it, so such a rule matches nothing
  const domains = { domainNames: ['example.com'] } as unknown as CnpPeer;
  // a peer kind a later API version may add: the CRD knp reads does not know it
  const unknownKind = { serviceAccounts: { matchLabels: { app: 'x' } } } as unknown as CnpPeer;
  const empty = {} as unknown as CnpPeer;
  const allEgressDenied = () => all().expectPeer(ns('gryffindor'), {}, false);
  const nodesDenied = () => toNodes(['gryffindor', 'slytherin'], (h) => h !== 'gryffindor');
  const admin = (name: string, egress: CnpEgressRule[]) => clusterNetworkPolicy(name, { tier: 'Admin', priority: 1, subject, egress });
  const baselineDeny = houseCnp({ name: 'default', tier: 'Baseline', priority: 10, subject: 'gryffindor', egress: [{ action: 'Deny', peer: 'all-houses' }] }, 'namespace-name');
  const none: Upstream | undefined = undefined;
  return ([
    ...scenariosFor(none, 'a Deny rule whose only peer is of a kind knp does not know fails closed and denies all egress',
      [admin('fail-closed-deny', [{ action: 'Deny', to: [unknownKind] }])], ['TCP'], allEgressDenied, nodesDenied),
    ...scenariosFor(none, 'a Pass rule whose only peer sets no field fails closed as a Deny of all egress',
      [admin('fail-closed-pass', [{ action: 'Pass', to: [empty] }])], ['TCP'], allEgressDenied, nodesDenied),
    ...scenariosFor(none, 'an Accept rule whose only peer is domainNames matches nothing: Baseline still denies',
      [admin('fail-closed-accept', [{ action: 'Accept', to: [domains] }]), baselineDeny], ['TCP'],
      allEgressDenied, () => toNodes(['gryffindor'], () => true)),
    ...scenariosFor(none, 'a Deny rule with a named port on a networks peer fails closed and denies all egress',
      [admin('fail-closed-named-port', [{ action: 'Deny', to: [{ networks: ['10.244.0.0/16'] }], protocols: [{ destinationNamedPort: 'web' }] }])],
      ['TCP'], allEgressDenied, nodesDenied),
  ] satisfies CnpScenario[]).map((s) => ({ ...s, failsClosed: true as const }));
}

export function cnpSelectorScenarios(): CnpScenario[] {
  return [
    ...podSelectorFile('Admin'), ...podSelectorFile('Baseline'),
    ...inlineCidrFile('Admin'), ...inlineCidrFile('Baseline'),
    ...nodePeersFile('Admin'), ...nodePeersFile('Baseline'),
    ...failClosed(),
  ];
}

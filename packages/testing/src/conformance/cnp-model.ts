import type { Protocol } from '@knp/shared';
import { NAMESPACE_NAME_LABEL, type ContainerPort, type LabelSelector, type Labels, type NetworkPolicy, type Pod } from './model.js';

/**
 * The model of SIG Network's ClusterNetworkPolicy conformance suite (kubernetes-sigs/network-policy-api
 * conformance/base/manifests.yaml) as plain Kubernetes objects: four namespaces
 * network-policy-conformance-<house> labelled `conformance-house: <house>`, two StatefulSet pods in each
 * (harry-potter-0/1, draco-malfoy-0/1, cedric-diggory-0/1, luna-lovegood-0/1) serving TCP 80 and 8080,
 * UDP 53 and 5353, SCTP 9003 and 9005 (80/TCP named `web`, 53/UDP named `dns`, as the named-port tests
 * expect), and two host-network pods (centaur-0/1 in network-policy-conformance-forbidden-forrest) whose IP
 * is their node's. Pods `-0` run on node-1, pods `-1` on node-2; each node's pods live in their own /24, so
 * a two-node netns cluster can route them. Pure data: no compiler calls, so real-packet tests can reuse it.
 */

export const HOUSES = ['gryffindor', 'slytherin', 'hufflepuff', 'ravenclaw'] as const;
export type House = (typeof HOUSES)[number];
export const CNP_NODES = ['node-1', 'node-2'] as const;
export type CnpNode = (typeof CNP_NODES)[number];

/**
 * Node InternalIP addresses (Node status.addresses): what a `nodes` peer matches and what a host-network
 * pod's IP is. Outside the pod subnets and the netns fixture's inter-node link (172.31.255.0/24), so a
 * real-packet suite can add them to the node namespaces and listen there.
 */
export const CNP_NODE_IPS: Readonly<Record<CnpNode, string>> = { 'node-1': '192.168.77.1', 'node-2': '192.168.77.2' };
/** Each node's pod subnet: pod `-0` of every house on node-1, `-1` on node-2. */
export const CNP_POD_SUBNETS: Readonly<Record<CnpNode, string>> = { 'node-1': '10.244.1.0/24', 'node-2': '10.244.2.0/24' };
/** Labels every model Node carries (upstream's node peers select `kubernetes.io/os: linux`). */
export const NODE_OS_LABEL = 'kubernetes.io/os';

/**
 * Ports of the host-network server pods. Upstream takes them from a configurable range (suite
 * HostNetworkPorts); its node-peer tests probe index 0 and 1 over TCP, 2 and 4 over UDP, 6 over SCTP.
 */
export const HOST_NETWORK_PORTS = [34345, 34346, 34347, 34348, 34349, 34350, 34351] as const;

/** The label upstream's CNPs select houses by, on namespaces and on pods. */
export const HOUSE_LABEL = 'conformance-house';
/** The label a StatefulSet puts on each of its pods: the pod's name. */
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const HOST_NETWORK_NAMESPACE = 'network-policy-conformance-forbidden-forrest';

const STUDENT: Readonly<Record<House, string>> = {
  gryffindor: 'harry-potter', slytherin: 'draco-malfoy', hufflepuff: 'cedric-diggory', ravenclaw: 'luna-lovegood',
};

/** `network-policy-conformance-<house>`. */
export const houseNamespace = (house: House): string => `network-policy-conformance-${house}`;
/** The name of a house's pod: `harry-potter-0`. */
export const studentName = (house: House, index: 0 | 1): string => `${STUDENT[house]}-${index}`;
/** `ns/name` of a house's pod, as matrices name pods. */
export const studentRef = (house: House, index: 0 | 1): string => `${houseNamespace(house)}/${studentName(house, index)}`;
/** The node of a house's pod: `-0` on node-1, `-1` on node-2. */
export const studentNode = (index: 0 | 1): CnpNode => CNP_NODES[index];
/** The IPv4 of a house's pod: 10.244.<index + 1>.<11 + house index>, e.g. harry-potter-0 = 10.244.1.11. */
export const studentIp = (house: House, index: 0 | 1): string => `10.244.${index + 1}.${11 + HOUSES.indexOf(house)}`;

/** Every port a model pod serves, by protocol (upstream's agnhost containers). */
export const SERVED_PORTS: Readonly<Record<Protocol, readonly [number, number]>> = { TCP: [80, 8080], UDP: [53, 5353], SCTP: [9003, 9005] };
const STUDENT_PORTS: readonly ContainerPort[] = [
  { name: 'web', containerPort: 80, protocol: 'TCP' },
  { containerPort: 8080, protocol: 'TCP' },
  { name: 'dns', containerPort: 53, protocol: 'UDP' },
  { containerPort: 5353, protocol: 'UDP' },
  { containerPort: 9003, protocol: 'SCTP' },
  { containerPort: 9005, protocol: 'SCTP' },
];

export type NodeAddress = { readonly type: 'InternalIP' | 'ExternalIP' | 'Hostname'; readonly address: string };
export type Node = {
  readonly apiVersion: 'v1';
  readonly kind: 'Node';
  readonly metadata: { readonly name: string; readonly labels: Labels };
  readonly status: { readonly addresses: readonly NodeAddress[] };
};

/** A namespaces or pods selector pair, as CNP subjects and peers write them. */
export type NamespacedPods = { readonly namespaceSelector?: LabelSelector; readonly podSelector: LabelSelector };
export type CnpSubject = { readonly namespaces: LabelSelector } | { readonly pods: NamespacedPods };
export type CnpPeer =
  | { readonly namespaces: LabelSelector }
  | { readonly pods: NamespacedPods }
  | { readonly networks: readonly string[] }
  | { readonly nodes: LabelSelector };
export type CnpPortSpec = { readonly number: number } | { readonly range: { readonly start: number; readonly end: number } };
export type CnpProtocol =
  | { readonly tcp: { readonly destinationPort: CnpPortSpec } }
  | { readonly udp: { readonly destinationPort: CnpPortSpec } }
  | { readonly sctp: { readonly destinationPort: CnpPortSpec } }
  | { readonly destinationNamedPort: string };
export type CnpAction = 'Accept' | 'Deny' | 'Pass';
export type CnpIngressRule = { readonly name?: string; readonly action: CnpAction; readonly from: readonly CnpPeer[]; readonly protocols?: readonly CnpProtocol[] };
export type CnpEgressRule = { readonly name?: string; readonly action: CnpAction; readonly to: readonly CnpPeer[]; readonly protocols?: readonly CnpProtocol[] };
export type ClusterNetworkPolicy = {
  readonly apiVersion: 'policy.networking.k8s.io/v1alpha2';
  readonly kind: 'ClusterNetworkPolicy';
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly tier: 'Admin' | 'Baseline';
    readonly priority: number;
    readonly subject: CnpSubject;
    readonly ingress?: readonly CnpIngressRule[];
    readonly egress?: readonly CnpEgressRule[];
  };
};
export type CnpNamespace = { readonly apiVersion: 'v1'; readonly kind: 'Namespace'; readonly metadata: { readonly name: string; readonly labels: Labels } };
export type CnpModelObject = CnpNamespace | Pod | Node | NetworkPolicy | ClusterNetworkPolicy;

export function clusterNetworkPolicy(name: string, spec: ClusterNetworkPolicy['spec']): ClusterNetworkPolicy {
  return { apiVersion: 'policy.networking.k8s.io/v1alpha2', kind: 'ClusterNetworkPolicy', metadata: { name }, spec };
}

function namespaceObject(name: string, labels: Labels): CnpNamespace {
  // the API server labels every namespace with its name; upstream's CNPs select houses by it
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels, [NAMESPACE_NAME_LABEL]: name } } };
}

function podObject(ns: string, name: string, labels: Labels, node: CnpNode, ip: string, hostNetwork: boolean, ports: readonly ContainerPort[]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { ...labels } },
    spec: { nodeName: node, ...(hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'agnhost', image: 'registry.k8s.io/e2e-test-images/agnhost:2.43', ports: ports.map((p) => ({ ...p })) }] },
    status: { phase: 'Running', hostIP: CNP_NODE_IPS[node], podIP: ip, podIPs: [{ ip }] },
  };
}

function nodeObject(name: CnpNode): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, [NODE_OS_LABEL]: 'linux' } },
    status: { addresses: [{ type: 'InternalIP', address: CNP_NODE_IPS[name] }, { type: 'Hostname', address: name }] },
  };
}

/** The model pods of the matrix (the eight house pods), `ns/name`, sorted. */
export const CNP_MATRIX_PODS: readonly string[] = HOUSES.flatMap((h) => [studentRef(h, 0), studentRef(h, 1)]).sort();

/** The host-network pods `ns/name` (never subjects nor pod peers; their IP is their node's). */
export const HOST_NETWORK_PODS: readonly string[] = [`${HOST_NETWORK_NAMESPACE}/centaur-0`, `${HOST_NETWORK_NAMESPACE}/centaur-1`];

/** The whole model: namespaces, Nodes, the house pods and the host-network pods (no policies). */
export function cnpModelObjects(): CnpModelObject[] {
  const namespaces = [...HOUSES.map((h) => namespaceObject(houseNamespace(h), { [HOUSE_LABEL]: h })), namespaceObject(HOST_NETWORK_NAMESPACE, {})];
  const students = HOUSES.flatMap((h) => ([0, 1] as const).map((i) =>
    podObject(houseNamespace(h), studentName(h, i), { [HOUSE_LABEL]: h, [POD_NAME_LABEL]: studentName(h, i) }, studentNode(i), studentIp(h, i), false, STUDENT_PORTS)));
  const hostPorts: ContainerPort[] = HOST_NETWORK_PORTS.map((port, i) => ({ containerPort: port, protocol: i < 2 ? 'TCP' : i < 6 ? 'UDP' : 'SCTP' }));
  const centaurs = ([0, 1] as const).map((i) =>
    podObject(HOST_NETWORK_NAMESPACE, `centaur-${i}`, { app: 'centaur', [POD_NAME_LABEL]: `centaur-${i}` }, studentNode(i), CNP_NODE_IPS[studentNode(i)], true, hostPorts));
  return [...namespaces, ...CNP_NODES.map(nodeObject), ...students, ...centaurs];
}

/**
 * The matrix pods as a two-node netns cluster wants them (`ns/name`, IPv4, node, ports to serve): every
 * TCP and UDP port the model serves (the fixture's agents serve each port over both). SCTP is left out.
 */
export function cnpNetnsPods(): { name: string; ip: string; node: CnpNode; ports: number[] }[] {
  const ports = [...new Set([...SERVED_PORTS.TCP, ...SERVED_PORTS.UDP])].sort((a, b) => a - b);
  return HOUSES.flatMap((h) => ([0, 1] as const).map((i) => ({ name: studentRef(h, i), ip: studentIp(h, i), node: studentNode(i), ports })));
}

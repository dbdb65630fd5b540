import type { Protocol } from '@knp/shared';

/**
 * The upstream e2e NetworkPolicy model (kubernetes test/e2e/network/netpol) as plain Kubernetes objects:
 * namespaces x, y, z labelled `ns: <name>`, pods a, b, c in each labelled `pod: <name>`, every pod serving
 * 80 and 81 over TCP, UDP and SCTP under upstream's port names. Pods are spread over two nodes; each node's
 * pods live in their own /24 so ipBlock scenarios can select "the pods of node-1" by CIDR.
 * Pure data and builders: no compiler calls, so real-kernel tests can reuse it.
 */

export type Labels = Readonly<Record<string, string>>;

export type LabelSelectorRequirement = {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
};
export type LabelSelector = {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
};
export type IpBlock = { readonly cidr: string; readonly except?: readonly string[] };
export type PolicyPeer = {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IpBlock;
};
export type PolicyPort = { readonly protocol?: Protocol; readonly port?: number | string; readonly endPort?: number };
export type IngressRule = { readonly from?: readonly PolicyPeer[]; readonly ports?: readonly PolicyPort[] };
export type EgressRule = { readonly to?: readonly PolicyPeer[]; readonly ports?: readonly PolicyPort[] };
export type PolicyType = 'Ingress' | 'Egress';
export type NetworkPolicySpec = {
  readonly podSelector: LabelSelector;
  readonly policyTypes?: readonly PolicyType[];
  readonly ingress?: readonly IngressRule[];
  readonly egress?: readonly EgressRule[];
};

export type Metadata = { readonly name: string; readonly namespace?: string; readonly labels?: Labels };
export type Namespace = { readonly apiVersion: 'v1'; readonly kind: 'Namespace'; readonly metadata: Metadata };
export type ContainerPort = { readonly name?: string; readonly containerPort: number; readonly protocol?: Protocol };
export type Container = { readonly name: string; readonly image: string; readonly ports?: readonly ContainerPort[] };
export type Pod = {
  readonly apiVersion: 'v1';
  readonly kind: 'Pod';
  readonly metadata: Metadata & { readonly namespace: string };
  readonly spec: { readonly nodeName?: string; readonly hostNetwork?: boolean; readonly containers: readonly Container[] };
  readonly status: {
    readonly phase: string;
    readonly hostIP?: string;
    readonly podIP?: string;
    readonly podIPs?: readonly { readonly ip: string }[];
  };
};
export type NetworkPolicy = {
  readonly apiVersion: 'networking.k8s.io/v1';
  readonly kind: 'NetworkPolicy';
  readonly metadata: Metadata & { readonly namespace: string };
  readonly spec: NetworkPolicySpec;
};
export type ModelObject = Namespace | Pod | NetworkPolicy;

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
export const NODES = ['node-1', 'node-2'] as const;
/** The label the API server puts on every namespace (the compiler adds it; the model leaves it out on purpose). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Node addresses: a hostNetwork pod's IP is its node's IP. */
export const NODE_IPS: Readonly<Record<string, string>> = { 'node-1': '172.18.0.2', 'node-2': '172.18.0.3' };

/** Where each model pod runs: mixed, so every namespace has pods on both nodes. */
const NODE_OF: Readonly<Record<string, (typeof NODES)[number]>> = {
  'x/a': 'node-1', 'x/b': 'node-2', 'x/c': 'node-1',
  'y/a': 'node-2', 'y/b': 'node-1', 'y/c': 'node-2',
  'z/a': 'node-1', 'z/b': 'node-2', 'z/c': 'node-1',
};
const SUBNET_OF: Readonly<Record<string, string>> = { 'node-1': '10.1.0', 'node-2': '10.2.0' };

/** The model pods, `ns/name`, sorted. */
export const MODEL_PODS: readonly string[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => `${ns}/${p}`));

/** The node of a model pod (`x/a`). */
export function nodeOf(ref: string): string {
  const node = NODE_OF[ref];
  if (node === undefined) throw new Error(`${ref} is not a model pod`);
  return node;
}

/** The IPv4 address of a model pod: `<node subnet>.<10 * (namespace index + 1) + pod index + 1>`, e.g. x/a = 10.1.0.11. */
export function podIp(ref: string): string {
  const [ns = '', name = ''] = ref.split('/');
  const nsIndex = (NAMESPACES as readonly string[]).indexOf(ns), podIndex = (POD_NAMES as readonly string[]).indexOf(name);
  if (nsIndex < 0 || podIndex < 0) throw new Error(`${ref} is not a model pod`);
  return `${SUBNET_OF[nodeOf(ref)]}.${10 * (nsIndex + 1) + podIndex + 1}`;
}

/** `<ip of ref>/32`, as upstream builds its ipBlock CIDRs. */
export function hostCidr(ref: string): string {
  return `${podIp(ref)}/32`;
}

/** The ports every model pod declares: upstream names them serve-<port>-<protocol>. */
export const MODEL_PORTS: readonly ContainerPort[] = [80, 81].flatMap((port) =>
  (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => ({ name: `serve-${port}-${protocol.toLowerCase()}`, containerPort: port, protocol })),
);

export function namespace(name: string, labels: Labels = { ns: name }): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels } } };
}

export type PodOptions = {
  readonly ns: string;
  readonly name: string;
  /** Default `{ pod: <name> }`. */
  readonly labels?: Labels;
  /** Default the model node; null: not scheduled. */
  readonly node?: string | null;
  /** Default the model IP (or the node IP for hostNetwork pods); null: no IP yet. */
  readonly ip?: string | null;
  /** Default Running. */
  readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  readonly hostNetwork?: boolean;
  /** Default MODEL_PORTS in one container; give several lists for several containers. */
  readonly containers?: readonly (readonly ContainerPort[])[];
};

/** A pod; omitted node and IP come from the model, so `pod({ ns: 'x', name: 'a' })` is the model's x/a. */
export function pod(options: PodOptions): Pod {
  const ref = `${options.ns}/${options.name}`;
  const node = options.node === undefined ? nodeOf(ref) : options.node ?? undefined;
  const ip = options.ip === undefined ? (options.hostNetwork && node ? NODE_IPS[node] : podIp(ref)) : options.ip ?? undefined;
  const containers = (options.containers ?? [MODEL_PORTS]).map((ports, i) => ({
    name: i === 0 ? 'agnhost' : `agnhost-${i}`,
    image: 'registry.k8s.io/e2e-test-images/agnhost:2.53',
    ports: ports.map((p) => ({ ...p })),
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: options.name, namespace: options.ns, labels: { ...(options.labels ?? { pod: options.name }) } },
    spec: { ...(node !== undefined ? { nodeName: node } : {}), ...(options.hostNetwork ? { hostNetwork: true } : {}), containers },
    status: {
      phase: options.phase ?? 'Running',
      ...(node !== undefined && NODE_IPS[node] !== undefined ? { hostIP: NODE_IPS[node] } : {}),
      ...(ip !== undefined ? { podIP: ip, podIPs: [{ ip }] } : {}),
    },
  };
}

export function policy(ns: string, name: string, spec: NetworkPolicySpec): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec };
}

/**
 * How a scenario's cluster differs from the model, as the final objects (upstream's label updates and
 * added pods). Labels given here replace the object's labels.
 */
export type ModelOverrides = {
  readonly namespaceLabels?: Readonly<Record<string, Labels>>;
  /** `ns/name` -> final labels. */
  readonly podLabels?: Readonly<Record<string, Labels>>;
  /** Pods replacing the model pod of the same ns/name, or added. */
  readonly pods?: readonly Pod[];
  /** `ns/name` of model pods that are gone. */
  readonly removePods?: readonly string[];
};

/** The model's namespaces and pods with the overrides applied (no policies). */
export function modelObjects(overrides: ModelOverrides = {}): (Namespace | Pod)[] {
  const refOf = (p: Pod): string => `${p.metadata.namespace}/${p.metadata.name}`;
  const namespaces = NAMESPACES.map((ns) => namespace(ns, overrides.namespaceLabels?.[ns] ?? { ns }));
  const replaced = new Map((overrides.pods ?? []).map((p) => [refOf(p), p]));
  const removed = new Set(overrides.removePods ?? []);
  const pods: Pod[] = [];
  for (const ref of MODEL_PODS) {
    if (removed.has(ref)) continue;
    const [ns = '', name = ''] = ref.split('/');
    const labels = overrides.podLabels?.[ref];
    pods.push(replaced.get(ref) ?? pod({ ns, name, ...(labels ? { labels } : {}) }));
    replaced.delete(ref);
  }
  pods.push(...replaced.values());
  return [...namespaces, ...pods];
}

/** True when a pod takes part in pod networking: scheduled, has an IP, not finished, not on the host network. */
export function isMatrixPod(p: Pod): boolean {
  return p.spec.nodeName !== undefined && p.status.podIP !== undefined && !p.spec.hostNetwork &&
    p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed';
}

/** The pods of the reachability matrix, `ns/name`, sorted. */
export function matrixPods(objects: readonly ModelObject[]): string[] {
  return objects
    .filter((o): o is Pod => o.kind === 'Pod' && isMatrixPod(o))
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`)
    .sort();
}

/** The IP of a pod among `objects` (overridden and added pods included). */
export function podIpIn(objects: readonly ModelObject[], ref: string): string {
  const found = objects.find((o): o is Pod => o.kind === 'Pod' && `${o.metadata.namespace}/${o.metadata.name}` === ref);
  const ip = found?.status.podIP;
  if (ip === undefined) throw new Error(`${ref}: no such pod with an IP`);
  return ip;
}

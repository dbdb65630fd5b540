import type { Protocol } from '@knp/shared';
import { compileAll, emptyState, eventsFromObjects, evolveAll, explain, explainMatrix, type ClusterState } from '@knp/compiler';

type Labels = Record<string, string>;

export const namespace = (name: string, labels: Labels = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

export type PodOptions = {
  ns: string;
  name: string;
  labels?: Labels;
  ip?: string | string[];
  node?: string;
  phase?: string;
  hostNetwork?: boolean;
  ports?: Array<{ name: string; port: number; protocol?: Protocol }>;
  created?: string;
  uid?: string;
};

export function pod(o: PodOptions) {
  const ips = o.ip === undefined ? [] : Array.isArray(o.ip) ? o.ip : [o.ip];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace: o.ns, labels: o.labels ?? {}, ...(o.uid ? { uid: o.uid } : {}), ...(o.created ? { creationTimestamp: o.created } : {}) },
    spec: {
      ...(o.node === undefined ? {} : { nodeName: o.node }),
      ...(o.hostNetwork ? { hostNetwork: true } : {}),
      containers: [{ name: 'c', ports: (o.ports ?? []).map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol ?? 'TCP' })) }],
    },
    status: { phase: o.phase ?? 'Running', ...(ips[0] ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}) },
  };
}

export const policy = (ns: string, name: string, spec: unknown) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: ns },
  spec,
});

/** A Node with labels and status.addresses (InternalIP for each IP given). */
export const node = (name: string, labels: Labels = {}, ips: string[] = []) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels },
  status: { addresses: [{ type: 'Hostname', address: name }, ...ips.map((address) => ({ type: 'InternalIP', address }))] },
});

/** A ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2). */
export const clusterPolicy = (name: string, spec: unknown) => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha2',
  kind: 'ClusterNetworkPolicy',
  metadata: { name },
  spec,
});

export function cluster(objects: unknown[]): ClusterState {
  const { events, errors } = eventsFromObjects(objects);
  if (errors.length) throw new Error(errors.join('\n'));
  return evolveAll(emptyState(), events);
}

/** Allowed or denied, through the compiled rule sets. */
export function allowed(state: ClusterState, from: string, to: string, port = 80, protocol: Protocol = 'TCP'): boolean {
  return explain(state, compileAll(state), from, to, port, protocol).allowed;
}

/** Every (from, to, port) verdict between the pods with an IP in the state, on TCP `ports`. */
export function allVerdicts(state: ClusterState, ports: readonly number[]): Map<string, boolean> {
  const ruleSets = compileAll(state);
  const out = new Map<string, boolean>();
  for (const port of ports) {
    const m = explainMatrix(state, ruleSets, port, 'TCP');
    m.pods.forEach((from, i) => m.pods.forEach((to, j) => out.set(`${from} -> ${to} :${port}`, m.allowed[i]![j]!)));
  }
  return out;
}

import type { PodSpec } from '@knp/sim';

/** A Kubernetes object as the demo reads it from examples/ (only what it needs). */
export type DemoObject = {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: { readonly nodeName?: string; readonly containers?: readonly { readonly ports?: readonly { readonly containerPort?: number }[] }[] };
  readonly status?: { readonly podIP?: string };
};

/** The example cluster split the way the demo tells it: the cluster first, its policies later. */
export type DemoScenario = {
  readonly namespaces: readonly DemoObject[];
  readonly pods: readonly DemoObject[];
  readonly policies: readonly DemoObject[];
  /** One simulated pod per API pod: `ns/name`, its IPv4 address, node and the ports it serves. */
  readonly podSpecs: readonly PodSpec[];
  readonly nodes: readonly string[];
};

const refOf = (o: DemoObject): string => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

/** The ports a pod serves: its declared container ports, or 80 when it declares none. */
export function servedPorts(pod: DemoObject): number[] {
  const ports = (pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).flatMap((p) => (typeof p.containerPort === 'number' ? [p.containerPort] : [])));
  return ports.length > 0 ? [...new Set(ports)] : [80];
}

/** Splits the objects and places every pod with an IPv4 address and a node (the simulated cluster is IPv4 and has two nodes at most). */
export function demoScenario(objects: readonly DemoObject[]): DemoScenario {
  const flat = objects.flatMap((o) => (o.kind.endsWith('List') ? ((o as unknown as { items?: DemoObject[] }).items ?? []) : [o]));
  const pods = flat.filter((o) => o.kind === 'Pod' && o.status?.podIP && o.spec?.nodeName && !o.status.podIP.includes(':'));
  const nodes = [...new Set(pods.map((p) => p.spec!.nodeName!))].sort();
  if (nodes.length === 0 || nodes.length > 2) throw new Error(`the demo cluster needs pods on one or two nodes, the examples use ${nodes.length}`);
  return {
    namespaces: flat.filter((o) => o.kind === 'Namespace'),
    pods,
    policies: flat.filter((o) => o.kind === 'NetworkPolicy'),
    podSpecs: pods.map((p) => ({ name: refOf(p), ip: p.status!.podIP!, node: p.spec!.nodeName!, ports: servedPorts(p) })),
    nodes,
  };
}

/** Every ordered pair of distinct pods, each probed on the destination's first port (TCP). */
export function demoPairs(pods: readonly PodSpec[]): { from: string; to: string; port: number }[] {
  return pods.flatMap((from) => pods.filter((to) => to.name !== from.name).map((to) => ({ from: from.name, to: to.name, port: (to.ports ?? [80])[0]! })));
}

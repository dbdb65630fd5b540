import { namedPorts, normalizeIp, type NamedPort } from '@knp/shared';
import type { Labels } from './selector.js';

/** What the compiler keeps of a Namespace. */
export type NamespaceRecord = { readonly uid: string; readonly name: string; readonly labels: Labels };

export type { NamedPort };

/** What the compiler keeps of a Pod. */
export type PodRecord = {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly node: string | undefined;
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  readonly phase: string;
  readonly created: string;
  readonly ports: readonly NamedPort[];
};

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** String-valued labels only (anything else cannot come from the API server). */
export function labelsOf(metadata: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(metadata.labels))) if (typeof v === 'string') out[k] = v;
  return out;
}

/** spec: the API server labels every namespace `kubernetes.io/metadata.name: <name>`; manifests may omit it. */
export function namespaceRecord(uid: string, name: string, object: unknown): NamespaceRecord {
  const labels = { ...labelsOf(obj(obj(object).metadata)), 'kubernetes.io/metadata.name': name };
  return { uid, name, labels };
}

export function podRecord(uid: string, namespace: string, name: string, object: unknown): PodRecord {
  const o = obj(object), metadata = obj(o.metadata), spec = obj(o.spec), status = obj(o.status);
  const ipTexts = [str(status.podIP), ...(Array.isArray(status.podIPs) ? status.podIPs.map((p) => str(obj(p).ip)) : [])];
  const ips = [...new Set(ipTexts.map((t) => (t ? normalizeIp(t) : undefined)).filter((t): t is string => t !== undefined))];
  return {
    uid,
    namespace,
    name,
    labels: labelsOf(metadata),
    node: str(spec.nodeName) || undefined,
    ips,
    hostNetwork: spec.hostNetwork === true,
    phase: str(status.phase) ?? 'Unknown',
    created: str(metadata.creationTimestamp) ?? '',
    ports: namedPorts(spec),
  };
}

/** spec: pods without an IP, not scheduled, finished or on the host network are neither targets nor pod peers. */
export function isLive(pod: PodRecord): boolean {
  return pod.node !== undefined && pod.ips.length > 0 && !pod.hostNetwork && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

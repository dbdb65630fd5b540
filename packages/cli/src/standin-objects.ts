import { WATCHED_KINDS, isClusterScoped, isDnsLabel, isDnsSubdomain, preview, type WatchedKind } from '@knp/shared';
import type { K8sObject } from '@knp/sim';

/** What `knp standin` serves from manifests, and what it leaves out (one line each, for stderr). */
export type StandinObjects = { readonly objects: readonly { readonly kind: WatchedKind; readonly object: K8sObject }[]; readonly skipped: readonly string[] };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Picks the Namespaces, Pods, NetworkPolicies, Nodes and ClusterNetworkPolicies out of manifests (`kind: List` expanded) for the API
 * stand-in: each needs a valid name (and namespace); other kinds are skipped silently, like `knp compile`
 * does, and a malformed object is skipped and named. Contents are served as written: the watcher reading the
 * stand-in validates them as it does a real API server's.
 */
export function standinObjects(manifests: readonly unknown[]): StandinObjects {
  const objects: { kind: WatchedKind; object: K8sObject }[] = [];
  const skipped: string[] = [];
  const visit = (value: unknown, where: string): void => {
    if (!isRecord(value)) return void skipped.push(`${where}: not an object`);
    const { kind, items, metadata } = value;
    if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items)) return items.forEach((item, i) => visit(item, `${where}.items[${i}]`));
    const known = WATCHED_KINDS.find((k) => k === kind);
    if (known === undefined) return;
    const problem = !isRecord(metadata)
      ? 'without metadata'
      : !(known === 'Namespace' ? isDnsLabel(metadata.name) : isDnsSubdomain(metadata.name))
        ? `metadata.name ${preview(metadata.name)} is not a DNS-1123 ${known === 'Namespace' ? 'label' : 'subdomain'}`
        : !isClusterScoped(known) && metadata.namespace !== undefined && !isDnsLabel(metadata.namespace)
          ? `metadata.namespace ${preview(metadata.namespace)} is not a DNS-1123 label`
          : undefined;
    if (problem !== undefined) return void skipped.push(`${where}: ${known} ${problem}`);
    objects.push({ kind: known, object: structuredClone(value) as K8sObject });
  };
  manifests.forEach((m, i) => visit(m, `object ${i}`));
  return { objects, skipped };
}

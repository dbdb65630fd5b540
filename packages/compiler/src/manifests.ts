import { OBJECT_KINDS, isClusterScoped, formatRejection, isDnsLabel, isDnsSubdomain, isUid, manifestUid, preview, type ObjectKind, type Rejection } from '@knp/shared';
import type { FoldEvent } from './fold-event.js';
import { foldEvent } from './input/event.js';
import { readObject } from './input/object.js';
import { isRecord, type ObjectId } from './input/read.js';

/** The one ClusterNetworkPolicy version knp reads (v1alpha1 had other kinds and other semantics). */
const CNP_API_VERSION = 'policy.networking.k8s.io/v1alpha2';

/** Manifests read for folding: the events; the objects skipped, one line each; the fields rejected of the objects kept. */
export type ManifestEvents = { readonly events: FoldEvent[]; readonly errors: string[]; readonly rejections: Rejection[] };

/**
 * Turns plain Kubernetes objects (as read from manifests; `kind: List` expanded) into fold events, through
 * the same readers as wire events. Objects without metadata.uid get one derived from kind/namespace/name,
 * without a namespace `default` (cluster-scoped kinds have none: Namespace, Node, ClusterNetworkPolicy). Other kinds are ignored; objects with an invalid name, namespace or uid, or
 * that their reader skips, are reported in `errors`.
 */
export function eventsFromObjects(objects: readonly unknown[]): ManifestEvents {
  const events: FoldEvent[] = [];
  const errors: string[] = [];
  const rejections: Rejection[] = [];
  const visit = (value: unknown, where: string): void => {
    if (!isRecord(value)) return void errors.push(`${where}: not an object`);
    const { kind, items, metadata } = value;
    if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items)) return items.forEach((item, i) => visit(item, `${where}.items[${i}]`));
    if (typeof kind !== 'string' || !(OBJECT_KINDS as readonly string[]).includes(kind)) return;
    if (kind === 'ClusterNetworkPolicy' && value.apiVersion !== CNP_API_VERSION)
      return void errors.push(`${where}: ClusterNetworkPolicy apiVersion ${preview(value.apiVersion)} is not ${CNP_API_VERSION}; skipped`);
    const id = identity(kind as ObjectKind, metadata);
    if (typeof id === 'string') return void errors.push(`${where}: ${kind} ${id}`);
    const read = readObject(kind as ObjectKind, id, value);
    if (!read.record) return void errors.push(...read.rejections.map((r) => `${where}: ${formatRejection(r)}`));
    events.push(foldEvent(kind as ObjectKind, id, read.record));
    rejections.push(...read.rejections);
  };
  objects.forEach((o, i) => visit(o, `object ${i}`));
  return { events, errors, rejections };
}

/** The object's identity, or what is wrong with it. */
function identity(kind: ObjectKind, metadata: unknown): ObjectId | string {
  if (!isRecord(metadata)) return 'without metadata';
  const { name, namespace: rawNamespace, uid } = metadata;
  if (name === undefined || name === null || name === '') return 'without metadata.name';
  if (kind === 'Namespace' ? !isDnsLabel(name) : !isDnsSubdomain(name))
    return `metadata.name ${preview(name)} is not a DNS-1123 ${kind === 'Namespace' ? 'label' : 'subdomain'}`;
  let namespace: string | undefined;
  if (!isClusterScoped(kind)) {
    namespace = rawNamespace === undefined || rawNamespace === null || rawNamespace === '' ? 'default' : (rawNamespace as string);
    if (!isDnsLabel(namespace)) return `${preview(name)}: metadata.namespace ${preview(rawNamespace)} is not a DNS-1123 label`;
  }
  if (uid !== undefined && uid !== null && uid !== '' && !isUid(uid)) return `${preview(name)}: metadata.uid ${preview(uid)} is not a uid`;
  return { uid: isUid(uid) ? uid : manifestUid(kind, namespace, name as string), namespace, name: name as string };
}

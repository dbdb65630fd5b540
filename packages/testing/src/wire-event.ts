import { OBJECT_KINDS, isClusterScoped, manifestUid, type ObjectKind } from '@knp/shared';

/** The wire event the watcher would publish for a manifest object (uid derived as the manifest path does). */
export function wireEvent(object: unknown, op: 'added' | 'modified' | 'deleted' = 'added'): Record<string, unknown> {
  const o = object as { kind: ObjectKind; metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string } };
  if (!OBJECT_KINDS.includes(o.kind)) throw new Error(`wireEvent: ${String(o.kind)}`);
  const namespace = isClusterScoped(o.kind) ? undefined : (o.metadata.namespace ?? 'default');
  const uid = o.metadata.uid ?? manifestUid(o.kind, namespace, o.metadata.name);
  const metadata = { ...o.metadata, uid, ...(namespace !== undefined ? { namespace } : {}) };
  return {
    schema: 1, op, kind: o.kind, uid, ...(namespace !== undefined ? { namespace } : {}), name: o.metadata.name,
    resourceVersion: o.metadata.resourceVersion ?? '1', object: { ...(object as object), metadata },
  };
}

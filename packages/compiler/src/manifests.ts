import { EVENT_SCHEMA, manifestUid, type ClusterEvent, type ObjectKind } from '@knp/shared';

const KINDS: Readonly<Record<string, ObjectKind>> = { Namespace: 'Namespace', Pod: 'Pod', NetworkPolicy: 'NetworkPolicy' };

/**
 * Turns plain Kubernetes objects (as read from manifests; `kind: List` expanded) into 'added' events.
 * Objects without metadata.uid get one derived from kind/namespace/name. Other kinds are skipped.
 */
export function eventsFromObjects(objects: readonly unknown[]): { events: ClusterEvent[]; errors: string[] } {
  const events: ClusterEvent[] = [];
  const errors: string[] = [];
  const visit = (value: unknown, where: string): void => {
    if (typeof value !== 'object' || value === null) {
      errors.push(`${where}: not an object`);
      return;
    }
    const o = value as { kind?: unknown; items?: unknown; metadata?: { name?: unknown; namespace?: unknown; uid?: unknown; resourceVersion?: unknown } };
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
      o.items.forEach((item, i) => visit(item, `${where}.items[${i}]`));
      return;
    }
    const kind = typeof o.kind === 'string' ? KINDS[o.kind] : undefined;
    if (!kind) return;
    const name = o.metadata?.name;
    if (typeof name !== 'string' || name === '') {
      errors.push(`${where}: ${kind} without metadata.name`);
      return;
    }
    const namespace = kind === 'Namespace' ? undefined : typeof o.metadata?.namespace === 'string' && o.metadata.namespace !== '' ? o.metadata.namespace : 'default';
    const uid = typeof o.metadata?.uid === 'string' && o.metadata.uid !== '' ? o.metadata.uid : manifestUid(kind, namespace, name);
    const resourceVersion = typeof o.metadata?.resourceVersion === 'string' ? o.metadata.resourceVersion : '0';
    events.push({ schema: EVENT_SCHEMA, op: 'added', kind, uid, name, resourceVersion, object: value, ...(namespace !== undefined ? { namespace } : {}) });
  };
  objects.forEach((o, i) => visit(o, `object ${i}`));
  return { events, errors };
}

import { assertNever, type ObjectKind } from '@knp/shared';
import type { NamespaceRecord, PodRecord } from '../records.js';
import { parsePolicy, type PolicyRecord } from '../policy.js';
import { readNamespace } from './namespace.js';
import { readPod } from './pod.js';
import type { ObjectId, Read } from './read.js';

export type RecordOf<K extends ObjectKind> = K extends 'Namespace' ? NamespaceRecord : K extends 'Pod' ? PodRecord : PolicyRecord;

/**
 * Reads an object of a kind into the record the compiler keeps. A NetworkPolicy that cannot be enforced at
 * all (spec, podSelector or policyTypes invalid: the API server would have refused it) is skipped like a
 * pod with invalid labels, so an earlier valid version stays in force; a broken rule only drops that rule.
 */
export function readObject<K extends ObjectKind>(kind: K, id: ObjectId, object: unknown): Read<RecordOf<K>> {
  switch (kind) {
    case 'Namespace':
      return readNamespace(id, object) as Read<RecordOf<K>>;
    case 'Pod':
      return readPod(id, object) as Read<RecordOf<K>>;
    case 'NetworkPolicy': {
      const record = parsePolicy(id.uid, id.namespace!, id.name, object);
      if (!record.parsed) return { rejections: record.rejections.map((r) => ({ ...r, reason: `${r.reason}; object skipped` })) };
      return { record, rejections: record.rejections } as Read<RecordOf<K>>;
    }
    default:
      return assertNever(kind as never);
  }
}

import { assertNever, type ObjectKind } from '@knp/shared';
import type { NamespaceRecord, NodeRecord, PodRecord } from '../records.js';
import { parseClusterPolicy, type ClusterPolicyRecord } from '../cluster-policy.js';
import { parsePolicy, type PolicyRecord } from '../policy.js';
import { readNamespace } from './namespace.js';
import { readNode } from './node.js';
import { readPod } from './pod.js';
import type { ObjectId, Read } from './read.js';

export type RecordOf<K extends ObjectKind> = K extends 'Namespace'
  ? NamespaceRecord
  : K extends 'Pod'
    ? PodRecord
    : K extends 'NetworkPolicy'
      ? PolicyRecord
      : K extends 'Node'
        ? NodeRecord
        : ClusterPolicyRecord;

/**
 * Reads an object of a kind into the record the compiler keeps. A NetworkPolicy that cannot be enforced at
 * all (spec, podSelector or policyTypes invalid: the API server would have refused it) is skipped like a
 * pod with invalid labels, so an earlier valid version stays in force; a broken rule only drops that rule.
 * A ClusterNetworkPolicy likewise (tier, priority, subject or rule lists invalid), except that a broken rule
 * fails closed (see cluster-policy.ts).
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
    case 'Node':
      return readNode(id, object) as Read<RecordOf<K>>;
    case 'ClusterNetworkPolicy': {
      // like a NetworkPolicy: a bad tier, priority or subject skips the object; a bad rule fails closed
      const read = parseClusterPolicy(id.uid, id.name, object);
      if (!read.record) return { rejections: read.rejections.map((r) => ({ ...r, reason: `${r.reason}; object skipped` })) };
      return { record: read.record, rejections: read.rejections } as Read<RecordOf<K>>;
    }
    default:
      return assertNever(kind as never);
  }
}

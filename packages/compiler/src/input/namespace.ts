import { preview, type Rejection } from '@knp/shared';
import type { NamespaceRecord } from '../records.js';
import { readLabels } from './labels.js';
import { isRecord, type ObjectId, type Read } from './read.js';

/** Reads a Namespace: its labels (invalid ones skip it, see readLabels) plus the one the API server sets. */
export function readNamespace(id: ObjectId, object: unknown): Read<NamespaceRecord> {
  const who = `Namespace ${id.name}`;
  const rejections: Rejection[] = [];
  const metadata = isRecord(object) && object.metadata !== undefined ? object.metadata : {};
  if (!isRecord(metadata)) return { rejections: [{ object: who, field: 'metadata', reason: `${preview(metadata)} is not an object; object skipped` }] };
  const labels = readLabels(metadata.labels, who, rejections) as Record<string, string> | undefined;
  if (!labels) return { rejections };
  // spec: the API server labels every namespace `kubernetes.io/metadata.name: <name>`; manifests may omit it
  labels['kubernetes.io/metadata.name'] = id.name;
  return { record: { uid: id.uid, name: id.name, labels: labels as NamespaceRecord['labels'] }, rejections };
}

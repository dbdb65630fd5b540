import { isLabelKey, isLabelValue, preview, type Rejection } from '@knp/shared';
import type { Labels } from '../selector.js';
import { table } from '../table.js';

/**
 * Reads metadata.labels: every key a label key, every value a label value, into a table without prototype.
 * Absent or null means no labels.
 *
 * Any invalid label makes the labels unreadable (undefined, with the rejection), and the caller skips the
 * whole object: the API server never stores such labels, so the object could not exist as it is. Keeping it
 * with the bad label dropped would let `NotIn` and `DoesNotExist` selectors match it where the real label
 * would not, i.e. a selector could match more pods than the API server could ever have produced; keeping
 * the label as it is would hand selectors a key or value no valid selector can name.
 */
export function readLabels(value: unknown, object: string, rejections: Rejection[]): Labels | undefined {
  const labels = table<string>() as Record<string, string>;
  if (value === undefined || value === null) return labels as Labels;
  if (typeof value !== 'object' || Array.isArray(value)) {
    rejections.push({ object, field: 'metadata.labels', reason: `${preview(value)} is not a map of labels; object skipped` });
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (!isLabelKey(key)) {
      rejections.push({ object, field: 'metadata.labels', reason: `key ${preview(key)} is not a label key; object skipped` });
      return undefined;
    }
    if (!isLabelValue(v)) {
      rejections.push({ object, field: `metadata.labels[${JSON.stringify(key)}]`, reason: `${preview(v)} is not a label value; object skipped` });
      return undefined;
    }
    labels[key] = v;
  }
  return labels as Labels;
}

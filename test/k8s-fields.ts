import * as k8s from '@kubernetes/client-node';

/**
 * Fields an object carries that its Kubernetes type does not have, as paths (`spec.template.spec.hostNetwrok`).
 * kubernetes-models' validation accepts unknown fields, and the API server drops them silently (or rejects
 * them, with strict field validation): a misspelt securityContext field would be lost either way. The
 * types come from @kubernetes/client-node's generated models (attributeTypeMap of each class).
 */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`)) : [`${path}: not a list`];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1]!, `${path}.${k}`)) : [`${path}: not a map`];
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => { baseName: string; type: string }[] } | undefined>)[type];
  if (model?.getAttributeTypeMap === undefined) return []; // string, number, boolean, Date, IntOrString, any
  if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: not an object`];
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, v]) => {
    const at = path === '' ? key : `${path}.${key}`;
    const t = attributes.get(key);
    return t === undefined ? [at] : unknownFields(v, t, at);
  });
}

/** The client-node model name of a top-level object: `V1` + kind for the v1 groups knp uses. */
export const modelName = (apiVersion: string, kind: string): string => `${apiVersion.split('/').at(-1)!.replace(/^v/, 'V')}${kind}`;

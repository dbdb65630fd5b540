/*
 * The strings knp keys and matches by, as Kubernetes validates them (apimachinery/pkg/util/validation), and
 * the bounds of the tokens knp's own envelope carries. Every check tests the length first, so no input is
 * scanned past its bound, and the patterns have no nested quantifiers (no backtracking blowup).
 */

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const UID = /^[A-Za-z0-9][-A-Za-z0-9._]*$/;
const TOKEN = /^[\x21-\x7e]*$/;
const SYNC_ID = /^[-A-Za-z0-9._]+$/;

/** spec: a DNS-1123 label (namespace names): 1-63 of a-z, 0-9 and '-', alphanumeric at both ends. */
export function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 63 && DNS_LABEL.test(value);
}

/** spec: a DNS-1123 subdomain (pod, policy and node names): at most 253, DNS labels joined by '.'. */
export function isDnsSubdomain(value: unknown): value is string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 253) return false;
  for (const label of value.split('.')) if (!DNS_LABEL.test(label)) return false;
  return true;
}

/**
 * spec: a label key is a qualified name: an optional DNS-subdomain prefix and '/', then a name of 1-63 of
 * [A-Za-z0-9-_.], alphanumeric at both ends.
 */
export function isLabelKey(value: unknown): value is string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 253 + 1 + 63) return false;
  const slash = value.indexOf('/');
  const name = slash < 0 ? value : value.slice(slash + 1);
  if (slash >= 0 && !isDnsSubdomain(value.slice(0, slash))) return false;
  return name.length >= 1 && name.length <= 63 && LABEL_NAME.test(name);
}

/** spec: a label value is empty or 1-63 of [A-Za-z0-9-_.], alphanumeric at both ends. */
export function isLabelValue(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 63 && (value === '' || LABEL_NAME.test(value));
}

/** Object uids: the API server's are UUIDs, manifests' are `manifest-<hex>`; knp accepts 1-128 of [A-Za-z0-9-_.], alphanumeric first. */
export function isUid(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 128 && UID.test(value);
}

/** A resourceVersion is opaque: knp carries 0-64 printable ASCII characters without spaces (the watcher sends '' when it has none). */
export function isResourceVersion(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 64 && TOKEN.test(value);
}

/** A sync marker's id (the watcher's is 24 hex digits): 1-64 of [A-Za-z0-9-_.]. */
export function isSyncId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 64 && SYNC_ID.test(value);
}

/**
 * A short printable description of any input value for a rejection's reason: strings quoted and cut at
 * `max` characters, objects and lists named by kind, so a huge or hostile value never fills a log line.
 */
export function preview(value: unknown, max = 40): string {
  if (typeof value === 'string') {
    const cut = value.length > max ? `${value.slice(0, max)}...` : value;
    return `${JSON.stringify(cut)}${value.length > max ? ` (${value.length} characters)` : ''}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

import { EVENT_SCHEMA, assertNever, canonicalJson, isClusterScoped, namedPorts, shortHash, type ObjectEvent, type WatchedKind, type SyncEvent } from '@knp/shared';

/** The part of an API object the compiler reads; everything else is dropped before publishing. */
export type TrimmedMeta = {
  readonly uid: string;
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly resourceVersion: string;
  readonly creationTimestamp?: string;
};
export type TrimmedObject = {
  readonly apiVersion: string;
  readonly kind: WatchedKind;
  readonly metadata: TrimmedMeta;
  readonly spec?: unknown;
  readonly status?: unknown;
};

const API_VERSION: Record<WatchedKind, string> = {
  Pod: 'v1', Namespace: 'v1', NetworkPolicy: 'networking.k8s.io/v1', Node: 'v1', ClusterNetworkPolicy: 'policy.networking.k8s.io/v1alpha2',
};

type Loose = Record<string, unknown> | undefined;
const obj = (v: unknown): Loose => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * Trims a watched object (as listed by the typed client or sent by a watch) to what the compiler needs. A
 * Node keeps only its labels and status.addresses, so its heartbeats (conditions, resourceVersion) trim to
 * the same content; a ClusterNetworkPolicy keeps its whole spec (the compiler validates it). Undefined when
 * the object has no uid or name (nothing we could key it by).
 */
export function trimObject(kind: WatchedKind, raw: unknown): TrimmedObject | undefined {
  const o = obj(raw);
  const m = obj(o?.metadata);
  const uid = str(m?.uid), name = str(m?.name);
  if (uid === undefined || name === undefined) return undefined;
  const metadata: TrimmedMeta = {
    uid,
    name,
    ...(!isClusterScoped(kind) && str(m?.namespace) !== undefined ? { namespace: str(m?.namespace)! } : {}),
    ...(obj(m?.labels) ? { labels: stringRecord(m?.labels) } : {}),
    resourceVersion: str(m?.resourceVersion) ?? '',
    ...(timestamp(m?.creationTimestamp) ? { creationTimestamp: timestamp(m?.creationTimestamp)! } : {}),
  };
  const base = { apiVersion: API_VERSION[kind], kind, metadata };
  switch (kind) {
    case 'Namespace':
      return base;
    case 'NetworkPolicy':
      return { ...base, spec: o?.spec === undefined ? {} : policySpec(o.spec) };
    case 'Pod':
      return { ...base, spec: podSpec(obj(o?.spec)), status: podStatus(obj(o?.status)) };
    case 'Node':
      return { ...base, status: nodeStatus(obj(o?.status)) };
    case 'ClusterNetworkPolicy':
      return { ...base, spec: o?.spec === undefined ? {} : plainData(o.spec) };
    default:
      return assertNever(kind);
  }
}

/** A custom object comes as plain JSON from its generic client; a round trip drops anything else (Dates, classes, undefined). */
const plainData = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

/**
 * The typed client deserializes into class instances and renames the ingress rule's `from` to `_from` (a
 * reserved word in its generator); a watch event, and our lists, are plain API JSON. A JSON round trip makes
 * both plain data, and `_from` goes back to the API's name, so a typed policy keeps its peers.
 */
function policySpec(spec: unknown): unknown {
  const plain = plainData(spec) as Record<string, unknown>;
  if (!Array.isArray(plain.ingress)) return plain;
  return {
    ...plain,
    ingress: plain.ingress.map((rule: unknown) => {
      const r = obj(rule);
      if (r === undefined || !('_from' in r)) return rule;
      const { _from, ...rest } = r;
      return 'from' in rest ? rest : { ...rest, from: _from };
    }),
  };
}

/** Node, host network and the named ports the compiler resolves (`namedPorts`: the one projection both use). */
function podSpec(spec: Loose): unknown {
  const ports = namedPorts(spec).map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol }));
  return {
    ...(str(spec?.nodeName) !== undefined ? { nodeName: str(spec?.nodeName) } : {}),
    ...(spec?.hostNetwork === true ? { hostNetwork: true } : {}),
    ...(ports.length > 0 ? { containers: [{ ports }] } : {}),
  };
}

/** The addresses a `nodes` peer matches (type and address, strings only); conditions and the rest change on every heartbeat. */
function nodeStatus(status: Loose): unknown {
  const addresses = arr(status?.addresses).map((a) => obj(a)).filter((a) => str(a?.address) !== undefined)
    .map((a) => ({ ...(str(a?.type) !== undefined ? { type: str(a?.type) } : {}), address: str(a?.address)! }));
  return addresses.length > 0 ? { addresses } : {};
}

function podStatus(status: Loose): unknown {
  const podIPs = arr(status?.podIPs).map((p) => str(obj(p)?.ip)).filter((ip) => ip !== undefined).map((ip) => ({ ip }));
  return {
    ...(str(status?.phase) !== undefined ? { phase: str(status?.phase) } : {}),
    ...(str(status?.podIP) !== undefined ? { podIP: str(status?.podIP) } : {}),
    ...(podIPs.length > 0 ? { podIPs } : {}),
  };
}

/** String values only. Object.fromEntries defines own properties, so a label key `__proto__` stays a label. */
function stringRecord(v: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(obj(v) ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** RFC 3339 in seconds, whether the client gave a Date (typed list) or a string (watch). */
function timestamp(v: unknown): string | undefined {
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : undefined;
  if (d === undefined || Number.isNaN(d.getTime())) return undefined;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Identifies what the compiler sees of an object, resourceVersion excluded: equal keys mean an irrelevant change. */
export function contentKey(t: TrimmedObject): string {
  const { resourceVersion: _rv, ...meta } = t.metadata;
  return shortHash(canonicalJson({ ...t, metadata: meta }), 32);
}

/** True when `next` changes nothing the compiler reads (e.g. a pod status heartbeat). */
export function isIrrelevantChange(prev: TrimmedObject, next: TrimmedObject): boolean {
  return contentKey(prev) === contentKey(next);
}

/** Builds the published event for a trimmed object. */
export function objectEvent(op: ObjectEvent['op'], t: TrimmedObject, resourceVersion = t.metadata.resourceVersion): ObjectEvent {
  return {
    schema: EVENT_SCHEMA,
    op,
    kind: t.kind,
    uid: t.metadata.uid,
    ...(t.metadata.namespace !== undefined ? { namespace: t.metadata.namespace } : {}),
    name: t.metadata.name,
    resourceVersion,
    object: t,
  };
}

/** Uids per sync chunk: ~40 bytes each keeps a chunk far below the 1 MiB default max payload. */
export const SYNC_CHUNK_UIDS = 8_000;

/** Identifies a sync by what it names, so a relist that finds the same live set repeats nothing. */
export function syncIdOf(kind: WatchedKind, uids: readonly string[]): string {
  return shortHash(canonicalJson({ kind, uids: [...uids].sort() }), 24);
}

/** The sync marker after a list: the live uids of a kind (sorted) in chunks of at most `perChunk`. */
export function syncEvents(kind: WatchedKind, resourceVersion: string, uids: readonly string[], perChunk = SYNC_CHUNK_UIDS): SyncEvent[] {
  const sorted = [...uids].sort();
  const syncId = syncIdOf(kind, sorted);
  const chunks = Math.max(1, Math.ceil(sorted.length / perChunk));
  return Array.from({ length: chunks }, (_, chunk) => ({
    schema: EVENT_SCHEMA,
    op: 'sync' as const,
    kind,
    resourceVersion,
    syncId,
    chunk,
    chunks,
    uids: sorted.slice(chunk * perChunk, (chunk + 1) * perChunk),
  }));
}

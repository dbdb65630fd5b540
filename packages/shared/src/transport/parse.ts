import type { RuleSetVersion } from '../ruleset.js';
import type { ListDelta } from './list-delta.js';
import { NODE_MESSAGE_SCHEMA, type NodeMessage } from './node-message.js';
import type { EventManifest } from './manifest.js';
import type { SetContent } from './set-content.js';

/**
 * Shape checks at the edge for what arrives on a node subject or from the set store: whole shapes, typed,
 * before anything is used. Items of pods, rules and sets are checked as the whole rule set's are (lists of
 * objects here; the renderers parse every address, port and protocol they print).
 */
export type Parsed<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'malformed'; readonly detail: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isVersion = (v: unknown): v is RuleSetVersion => isObj(v) && typeof v.epoch === 'string' && Number.isSafeInteger(v.seq) && (v.seq as number) >= 0;
const isRef = (v: unknown): boolean => isObj(v) && typeof v.id === 'string' && isHash(v.hash);
const isObjList = (v: unknown): boolean => Array.isArray(v) && v.every(isObj);

function isListDelta(v: unknown, item: (x: unknown) => boolean): v is ListDelta<unknown> {
  return (
    isObj(v) && Array.isArray(v.del) && v.del.every((k) => typeof k === 'string') && Array.isArray(v.put) &&
    v.put.every((p) => Array.isArray(p) && p.length === 2 && Number.isSafeInteger(p[0]) && (p[0] as number) >= 0 && item(p[1]))
  );
}

function decode(payload: Uint8Array | string): Parsed<Obj> {
  let v: unknown;
  try {
    v = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch (err) {
    return { kind: 'malformed', detail: `not JSON: ${(err as Error).message}` };
  }
  return isObj(v) ? { kind: 'ok', value: v } : { kind: 'malformed', detail: 'not an object' };
}

/**
 * Whether a node subject's payload is a node message (schema 2) rather than a whole rule set (schema 1):
 * writers put `schema` first. Anything else goes the whole rule set's way, which refuses unknown schemas.
 */
export function isNodeMessagePayload(payload: Uint8Array): boolean {
  return Buffer.from(payload.subarray(0, 16)).toString('utf8').startsWith(`{"schema":${NODE_MESSAGE_SCHEMA},`);
}

/** Whether a node subject's payload is a pointer (an unsigned reference to an event manifest): writers put schema and kind first. */
export function isPointerPayload(payload: Uint8Array): boolean {
  return Buffer.from(payload.subarray(0, 32)).toString('utf8').startsWith(`{"schema":${NODE_MESSAGE_SCHEMA},"kind":"pointer",`);
}

/** A pointer's payload: the hash of the manifest it names. */
export function parsePointer(payload: Uint8Array | string): Parsed<{ readonly manifest: string }> {
  const d = decode(payload);
  if (d.kind !== 'ok') return d;
  const v = d.value;
  if (v.schema !== NODE_MESSAGE_SCHEMA || v.kind !== 'pointer' || !isHash(v.manifest)) return { kind: 'malformed', detail: 'pointer: not {schema: 2, kind: "pointer", manifest: sha256}' };
  return { kind: 'ok', value: { manifest: v.manifest } };
}

/** An event manifest from its payload (its hash and signature are checked by the caller). */
export function parseManifest(payload: Uint8Array | string): Parsed<EventManifest> {
  const d = decode(payload);
  if (d.kind !== 'ok') return d;
  const v = d.value;
  const bad = (detail: string): Parsed<EventManifest> => ({ kind: 'malformed', detail: `manifest: ${detail}` });
  if (v.schema !== NODE_MESSAGE_SCHEMA || v.kind !== 'manifest') return bad('not {schema: 2, kind: "manifest"}');
  if (!isVersion(v.version)) return bad('version is not {epoch: string, seq: integer}');
  if (!Array.isArray(v.sets) || !v.sets.every(isRef)) return bad('sets is not a list of {id, hash}');
  if (!Array.isArray(v.nodes) || !v.nodes.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && isHash(e[1]))) return bad('nodes is not a list of [node, sha256]');
  return { kind: 'ok', value: v as unknown as EventManifest };
}

/** A node message (schema 2, FULL or DELTA) from its payload. */
export function parseNodeMessage(payload: Uint8Array | string): Parsed<NodeMessage> {
  const d = decode(payload);
  if (d.kind !== 'ok') return d;
  const v = d.value;
  const bad = (detail: string): Parsed<NodeMessage> => ({ kind: 'malformed', detail: `node message: ${detail}` });
  if (v.schema !== NODE_MESSAGE_SCHEMA) return bad(`schema ${JSON.stringify(v.schema)}, this reader knows ${NODE_MESSAGE_SCHEMA}`);
  if (typeof v.node !== 'string') return bad('node is not a string');
  if (!isVersion(v.version)) return bad('version is not {epoch: string, seq: integer}');
  if (!isHash(v.contentHash)) return bad('contentHash is not a sha256');
  if (v.kind === 'full') {
    for (const key of ['pods', 'rules'] as const) if (!isObjList(v[key])) return bad(`${key} is not a list of objects`);
    if (v.tierRules !== undefined && !isObjList(v.tierRules)) return bad('tierRules is not a list of objects');
    if (!Array.isArray(v.sets) || !v.sets.every(isRef)) return bad('sets is not a list of {id, hash}');
  } else if (v.kind === 'delta') {
    const base = v.base;
    if (!isObj(base) || !isVersion(base.version) || !isHash(base.contentHash)) return bad('base is not {version, contentHash}');
    for (const key of ['pods', 'rules', 'tierRules'] as const) if (v[key] !== undefined && !isListDelta(v[key], isObj)) return bad(`${key} is not a list delta`);
    if (v.sets !== undefined && !isListDelta(v.sets, isRef)) return bad('sets is not a list delta of {id, hash}');
  } else return bad(`kind ${JSON.stringify(v.kind)} is neither full nor delta`);
  return { kind: 'ok', value: v as unknown as NodeMessage };
}

/** A set store message from its payload. */
export function parseSetContent(payload: Uint8Array | string): Parsed<SetContent> {
  const d = decode(payload);
  if (d.kind !== 'ok') return d;
  const v = d.value;
  const bad = (detail: string): Parsed<SetContent> => ({ kind: 'malformed', detail: `set content: ${detail}` });
  if (v.kind === 'set') {
    const set = v.set;
    if (!isObj(set) || typeof set.id !== 'string' || !['pods', 'nodes', 'cidr', 'pod-ports'].includes(set.kind as string)) return bad('set is not an address set');
    const members = set.kind === 'cidr' ? set.except : set.kind === 'pod-ports' ? set.entries : set.ips;
    if (!Array.isArray(members)) return bad(`set ${set.id}: members are not a list`);
  } else if (v.kind === 'set-delta') {
    if (typeof v.id !== 'string' || !isHash(v.base) || !isHash(v.hash)) return bad('set-delta is not {id, base, hash}');
    if (v.selector !== undefined && typeof v.selector !== 'string') return bad('selector is not a string');
    if (!isListDelta(v.members, (x) => typeof x === 'string' || isObj(x))) return bad('members is not a list delta');
  } else return bad(`kind ${JSON.stringify(v.kind)} is neither set nor set-delta`);
  return { kind: 'ok', value: v as unknown as SetContent };
}

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { produce } from 'immer';
import { emptyState, type ClusterState } from '../src/index.js';
import { decodeSnapshot, encodeSnapshot } from '../src/service/snapshot-codec.js';
import { namespace, pod, policy } from '@knp/testing';
import { foldObjects, foldWire, wireEvent } from './wire-fold.js';

/*
 * Every table keyed by an API string has no prototype, so '__proto__' or 'constructor' are ordinary keys.
 * Immer must keep that through copy-on-write, and a snapshot must decode back into the same shapes.
 */
const Shape = suite('state tables without prototypes');

const isBare = (o: unknown): boolean => typeof o === 'object' && o !== null && Object.getPrototypeOf(o) === null;

/**
 * A value as nested lists, each object with its prototype and own keys in order (undefined members too):
 * deep equality of these is deep equality with prototypes, and no key is ever used as a key (a deep-equal
 * that reads `x.constructor` is fooled by a table holding the namespace "constructor").
 */
function shape(v: unknown): unknown {
  if (typeof v === 'bigint') return ['bigint', String(v)];
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return ['list', v.map(shape)];
  const proto = Object.getPrototypeOf(v) === null ? 'none' : Object.getPrototypeOf(v) === Object.prototype ? 'Object' : 'other';
  return [proto, Object.keys(v).map((k) => [k, shape((v as Record<string, unknown>)[k])])];
}

/** Each string-keyed table of the state, with where it is. */
function tables(state: ClusterState): Array<[where: string, table: unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const key of ['namespaces', 'namespaceUids', 'pods', 'policies', 'ipClaims', 'conflictedIps', 'pendingSyncs'] as const) out.push([key, state[key]]);
  for (const [ns, shard] of Object.entries(state.pods)) {
    out.push([`pods[${ns}]`, shard]);
    for (const [uid, p] of Object.entries(shard)) out.push([`pods[${ns}][${uid}].labels`, p.labels]);
  }
  for (const [ns, shard] of Object.entries(state.policies)) out.push([`policies[${ns}]`, shard]);
  for (const [h, shard] of Object.entries(state.ipClaims)) out.push([`ipClaims[${h}]`, shard]);
  for (const [uid, ns] of Object.entries(state.namespaces)) out.push([`namespaces[${uid}].labels`, ns.labels]);
  return out;
}

const objects = [
  namespace('prod', { team: 'a' }),
  namespace('constructor', { team: 'b' }),
  pod({ ns: 'prod', name: 'web', labels: { app: 'web', toString: 'x' }, ip: ['10.0.0.1', 'fd00::1'], node: 'n1', ports: [{ name: 'http', port: 80 }] }),
  pod({ ns: 'prod', name: 'old', uid: 'uid-old', labels: { app: 'db' }, ip: '10.0.0.2', node: 'n2', created: '2026-01-01T00:00:00Z' }),
  pod({ ns: 'constructor', name: 'new', uid: 'uid-new', labels: { app: 'db' }, ip: '10.0.0.2', node: 'n2', created: '2026-01-02T00:00:00Z' }),
  pod({ ns: 'prod', name: 'pending', uid: 'hasOwnProperty' }),
  policy('prod', 'db', {
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }, { ipBlock: { cidr: '10.1.0.0/16', except: ['10.1.2.0/24'] } }, { ipBlock: { cidr: '2001:db8::/32' } }] }],
  }),
  policy('constructor', 'bad', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0/8' } }] }] }),
];
const halfSync = { schema: 1, op: 'sync', kind: 'Pod', resourceVersion: '9', syncId: 's1', chunk: 0, chunks: 2, uids: ['uid-old'] };
const state = foldWire([...objects.map((o) => wireEvent(o)), halfSync], emptyState('2026-01-01T00:00:00Z'));

Shape('the empty state has tables without prototypes', () => {
  for (const [where, table] of tables(emptyState())) assert.ok(isBare(table), where);
});

Shape('immer copies an object without prototype as one without prototype (v11, not strict)', () => {
  const base = Object.assign(Object.create(null) as Record<string, Record<string, number>>, { a: Object.assign(Object.create(null) as Record<string, number>, { x: 1 }) });
  const next = produce(base, (draft) => {
    draft.a!.y = 2;
    draft['__proto__'] = Object.assign(Object.create(null) as Record<string, number>, { z: 3 });
  });
  assert.ok(isBare(next) && isBare(next.a) && isBare(next['__proto__']));
  assert.equal(Object.keys(next).sort(), ['__proto__', 'a']);
  assert.is(({} as Record<string, unknown>).z, undefined);
});

Shape('after folding, every table, shard and label map is still without prototype', () => {
  assert.ok(Object.keys(state.pods).includes('constructor'));
  assert.ok(Object.keys(state.pendingSyncs).length === 1);
  assert.ok(Object.keys(state.conflictedIps).length === 1);
  for (const [where, table] of tables(state)) assert.ok(isBare(table), where);
  for (const [where, table] of tables(foldObjects(objects))) assert.ok(isBare(table), `manifests: ${where}`);
});

Shape('a snapshot decodes into the same state: deep-equal, tables without prototypes', () => {
  const decoded = decodeSnapshot(encodeSnapshot(state), state.epoch).state;
  assert.equal(shape(decoded), shape(state));
  for (const [where, table] of tables(decoded)) assert.ok(isBare(table), where);
});

Shape.run();

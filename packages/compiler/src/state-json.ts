import type { ClusterState } from './state.js';
import { table, tableFrom, type Table } from './table.js';

/*
 * A ClusterState read back from JSON (a snapshot): JSON.parse makes plain objects, so every table and label
 * map is rebuilt without prototype, into the very shapes `evolve` makes. Records themselves are plain JSON
 * values with no undefined members (records.ts), so they come back equal as they are.
 */

export class StateShapeError extends Error {
  override name = 'StateShapeError';
}

type Json = Record<string, unknown>;
const obj = (v: unknown, where: string): Json => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new StateShapeError(`${where} is not an object`);
  return v as Json;
};

/** Each entry of a JSON object mapped into a table without prototype. */
function tableOf<V>(v: unknown, where: string, entry: (value: unknown, key: string) => V): Table<V> {
  const source = obj(v, where);
  const out = table<V>() as Record<string, V>;
  for (const key of Object.keys(source)) out[key] = entry(source[key], key);
  return out as Table<V>;
}

const withLabels = <T>(v: unknown, where: string): T => {
  const record = obj(v, where);
  return { ...record, labels: tableFrom(obj(record.labels, `${where}.labels`) as Record<string, string>) } as T;
};

/** The state a JSON value (as `JSON.stringify(state)` printed it, bigints revived) describes; throws StateShapeError when it is not one. */
export function stateFromJson(value: unknown): ClusterState {
  const s = obj(value, 'state');
  if (typeof s.epoch !== 'string' || !Number.isInteger(s.seq)) throw new StateShapeError('state has no epoch or seq');
  return {
    epoch: s.epoch,
    seq: s.seq as number,
    namespaces: tableOf(s.namespaces, 'namespaces', (ns, uid) => withLabels(ns, `namespaces[${uid}]`)),
    namespaceUids: tableOf(s.namespaceUids, 'namespaceUids', (uid) => uid as string),
    pods: tableOf(s.pods, 'pods', (shard, ns) => tableOf(shard, `pods[${ns}]`, (pod, uid) => withLabels(pod, `pods[${ns}][${uid}]`))),
    policies: tableOf(s.policies, 'policies', (shard, ns) => tableOf(shard, `policies[${ns}]`, (p) => p as never)),
    nodes: tableOf(s.nodes, 'nodes', (node, uid) => withLabels(node, `nodes[${uid}]`)),
    clusterPolicies: tableOf(s.clusterPolicies, 'clusterPolicies', (p) => p as never),
    ipClaims: tableOf(s.ipClaims, 'ipClaims', (shard, h) => tableOf(shard, `ipClaims[${h}]`, (claims) => claims as never)),
    conflictedIps: tableOf(s.conflictedIps, 'conflictedIps', (uids) => uids as string),
    pendingSyncs: tableOf(s.pendingSyncs, 'pendingSyncs', (p) => p as never),
    trust: trustFromJson(s.trust),
  };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function trustFromJson(value: unknown): ClusterState['trust'] {
  const t = obj(value, 'trust');
  if (typeof t.signed !== 'boolean') throw new StateShapeError('trust.signed is not a boolean');
  return {
    signed: t.signed,
    origins: tableOf(t.origins, 'trust.origins', (o, keyId) => {
      const { start, counter } = obj(o, `trust.origins[${keyId}]`);
      if (!isCount(start) || !isCount(counter)) throw new StateShapeError(`trust.origins[${keyId}] is not a start and counter`);
      return { start, counter };
    }),
    synced: tableOf(t.synced, 'trust.synced', (v, kind) => {
      if (v !== true) throw new StateShapeError(`trust.synced[${kind}] is not true`);
      return true as const;
    }),
  };
}

import type { ObjectKind, SignedOrigin } from '@knp/shared';
import type { NamespaceRecord, NodeRecord, PodRecord } from './records.js';
import type { ClusterPolicyRecord } from './cluster-policy.js';
import type { PolicyRecord } from './policy.js';

/*
 * What `evolve` folds: typed, validated values only, made at the edge by `decodeEvent` (wire events) or
 * `eventsFromObjects` (manifests). An upsert carries the record to keep, a delete the identity to drop, a
 * sync marker one whole chunk. `seq` is the stream sequence the event was read at (absent offline).
 */

/** `origin`: the verified signer and origin of a signed event (absent when unsigned), for the replay guard. */
type Seq = { readonly seq?: number; readonly origin?: SignedOrigin };
type Upsert<R> = { readonly op: 'upsert'; readonly record: R } | { readonly op: 'delete' };

export type NamespaceEvent = Seq & { readonly kind: 'Namespace'; readonly uid: string; readonly name: string } & Upsert<NamespaceRecord>;
export type PodEvent = Seq & { readonly kind: 'Pod'; readonly uid: string; readonly namespace: string; readonly name: string } & Upsert<PodRecord>;
export type PolicyEvent = Seq & { readonly kind: 'NetworkPolicy'; readonly uid: string; readonly namespace: string; readonly name: string } & Upsert<PolicyRecord>;
export type NodeEvent = Seq & { readonly kind: 'Node'; readonly uid: string; readonly name: string } & Upsert<NodeRecord>;
export type ClusterPolicyEvent = Seq & { readonly kind: 'ClusterNetworkPolicy'; readonly uid: string; readonly name: string } & Upsert<ClusterPolicyRecord>;

/** One chunk of a sync: once all chunks arrived, objects of the kind that no chunk names are deleted. */
export type SyncMarker = Seq & {
  readonly op: 'sync';
  readonly kind: ObjectKind;
  readonly syncId: string;
  readonly chunk: number;
  readonly chunks: number;
  readonly uids: readonly string[];
};

export type FoldEvent = NamespaceEvent | PodEvent | PolicyEvent | NodeEvent | ClusterPolicyEvent | SyncMarker;

import type { NamedPort } from '@knp/shared';
import type { Labels } from './selector.js';

/*
 * What the compiler keeps of each object: typed, validated values only (see input/). Records are JSON
 * values with no undefined members, so a snapshot decodes back into the very same records.
 */

/** What the compiler keeps of a Namespace. */
export type NamespaceRecord = { readonly uid: string; readonly name: string; readonly labels: Labels };

export type { NamedPort };

/** What the compiler keeps of a Pod. */
export type PodRecord = {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** spec.nodeName; absent while unscheduled. */
  readonly node?: string;
  /** Canonical addresses: status.podIP and status.podIPs (at most two, as the API server allows), deduplicated. */
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  /** One of Pending, Running, Succeeded, Failed, Unknown. */
  readonly phase: string;
  /** creationTimestamp in UTC seconds (`2026-01-02T03:04:05Z`), '' when unknown. */
  readonly created: string;
  readonly ports: readonly NamedPort[];
};

/** spec: pods without an IP, not scheduled, finished or on the host network are neither targets nor pod peers. */
export function isLive(pod: PodRecord): boolean {
  return pod.node !== undefined && pod.ips.length > 0 && !pod.hostNetwork && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

/** What the compiler keeps of a Node: its labels (for `nodes` peers) and the IPs in its status.addresses. */
export type NodeRecord = {
  readonly uid: string;
  readonly name: string;
  readonly labels: Labels;
  /** Canonical InternalIP and ExternalIP addresses (v4 and v6), deduplicated, in the order listed. */
  readonly ips: readonly string[];
};

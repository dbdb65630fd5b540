import { isIPv4 } from 'node:net';
import { normalizeIp, preview, type Rejection } from '@knp/shared';
import type { NodeRecord } from '../records.js';
import { readLabels } from './labels.js';
import { isRecord, type ObjectId, type Read } from './read.js';

/**
 * A memory bound, not a limit of the API: nodes list a handful of addresses (a node with many interfaces a
 * few dozen). Entries past it are reported and not addresses of the node: a `nodes` peer then matches less,
 * so a Deny to nodes denies less.
 */
export const MAX_NODE_ADDRESSES = 256;
/** Types whose address must be an IP: one that is not is reported (the others may hold host names). */
const IP_TYPES: readonly string[] = ['InternalIP', 'ExternalIP'];

/**
 * Reads a Node into its record. Invalid labels skip the node (see readLabels). A `nodes` peer matches "the
 * IPs present in node.Status.Addresses": every entry whose address is an IP, whatever its type (a Hostname
 * entry holding an IP counts). An InternalIP or ExternalIP entry that is not an IP is reported and not an
 * address of the node (a `nodes` peer then matches less: an Accept allows less, a Deny denies less).
 */
export function readNode(id: ObjectId, object: unknown): Read<NodeRecord> {
  const who = `Node ${id.name}`;
  const rejections: Rejection[] = [];
  const o = isRecord(object) ? object : {};
  const metadata = o.metadata === undefined ? {} : o.metadata;
  if (!isRecord(metadata)) return { rejections: [{ object: who, field: 'metadata', reason: `${preview(metadata)} is not an object; object skipped` }] };
  const labels = readLabels(metadata.labels, who, rejections);
  if (!labels) return { rejections };
  const status = o.status === undefined || o.status === null ? {} : o.status;
  if (!isRecord(status)) {
    rejections.push({ object: who, field: 'status', reason: `${preview(status)} is not an object; read as no addresses` });
    return { record: { uid: id.uid, name: id.name, labels, ips: [] }, rejections };
  }
  return { record: { uid: id.uid, name: id.name, labels, ips: nodeIps(status.addresses, who, rejections) }, rejections };
}

function nodeIps(list: unknown, who: string, rejections: Rejection[]): string[] {
  const ips = new Set<string>();
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    rejections.push({ object: who, field: 'status.addresses', reason: `${preview(list)} is not a list; read as no addresses` });
    return [];
  }
  for (let i = 0; i < list.length; i++) {
    if (i >= MAX_NODE_ADDRESSES) {
      rejections.push({ object: who, field: `status.addresses[${i}]`, reason: `knp reads at most ${MAX_NODE_ADDRESSES} addresses of a node; the ${list.length - i} after are not addresses of the node (a nodes peer matches less: a Deny to nodes denies less)` });
      break;
    }
    const entry = list[i];
    if (!isRecord(entry)) continue;
    const text = entry.address;
    const ip = typeof text !== 'string' || text.length > 64 ? undefined : isIPv4(text) ? text : normalizeIp(text);
    if (ip !== undefined) ips.add(ip);
    else if (IP_TYPES.includes(entry.type as string)) rejections.push({ object: who, field: `status.addresses[${i}].address`, reason: `${preview(text)} is not an IP address; not an address of the node (a nodes peer matches less: a Deny to nodes denies less)` });
    // other types (Hostname, InternalDNS, ...) may hold names: not IPs, not addresses
  }
  return [...ips];
}

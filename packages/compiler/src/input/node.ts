import { isIPv4 } from 'node:net';
import { normalizeIp, preview, type Rejection } from '@knp/shared';
import type { NodeRecord } from '../records.js';
import { readLabels } from './labels.js';
import { isRecord, type ObjectId, type Read } from './read.js';

/** A node lists a handful of addresses; more than this is not a node the API server made. */
const MAX_NODE_ADDRESSES = 16;
/** spec: a `nodes` peer matches the node's IPs in status.addresses; host names are not addresses. */
const IP_TYPES: readonly string[] = ['InternalIP', 'ExternalIP'];

/**
 * Reads a Node into its record. Invalid labels skip the node (see readLabels); an address entry that is
 * not an IP is rejected and not an address of the node (a `nodes` peer then matches less, never more).
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
  const ips: string[] = [];
  if (list === undefined || list === null) return ips;
  if (!Array.isArray(list)) {
    rejections.push({ object: who, field: 'status.addresses', reason: `${preview(list)} is not a list; read as no addresses` });
    return ips;
  }
  for (let i = 0; i < list.length; i++) {
    if (i >= MAX_NODE_ADDRESSES) {
      rejections.push({ object: who, field: `status.addresses[${i}]`, reason: `a node has at most ${MAX_NODE_ADDRESSES} addresses; the rest are not addresses of the node` });
      break;
    }
    const entry = list[i];
    if (!isRecord(entry) || !IP_TYPES.includes(entry.type as string)) continue; // Hostname, InternalDNS, ...: not IPs
    const text = entry.address;
    const ip = typeof text !== 'string' || text.length > 64 ? undefined : isIPv4(text) ? text : normalizeIp(text);
    if (ip === undefined) rejections.push({ object: who, field: `status.addresses[${i}].address`, reason: `${preview(text)} is not an IP address; not an address of the node` });
    else if (!ips.includes(ip)) ips.push(ip);
  }
  return ips;
}

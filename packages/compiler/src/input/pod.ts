import { isIPv4 } from 'node:net';
import { isDnsSubdomain, namedPorts, normalizeIp, preview, type Rejection } from '@knp/shared';
import type { PodRecord } from '../records.js';
import { readLabels } from './labels.js';
import { parseTimestamp } from './timestamp.js';
import { isRecord, type ObjectId, type Read } from './read.js';

const PHASES: readonly string[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];
/** spec: podIPs holds at most two addresses (one per family). */
const MAX_POD_IPS = 2;

/**
 * Reads a Pod into its record. Labels that are not valid skip the pod (see readLabels); any other invalid
 * field is rejected and read as the value that never allows more: no node (not live), no such IP, no such
 * named port, phase Unknown, creation time unknown (''), and a hostNetwork that is not a boolean as true
 * (a host-network pod is neither a target nor a peer, so the node's address never lands in a set).
 */
export function readPod(id: ObjectId, object: unknown): Read<PodRecord> {
  const who = `Pod ${id.namespace}/${id.name}`;
  const rejections: Rejection[] = [];
  const reject = (field: string, reason: string): void => void rejections.push({ object: who, field, reason });
  const o = isRecord(object) ? object : {};
  const metadata = o.metadata === undefined ? {} : o.metadata;
  if (!isRecord(metadata)) return { rejections: [{ object: who, field: 'metadata', reason: `${preview(metadata)} is not an object; object skipped` }] };
  const labels = readLabels(metadata.labels, who, rejections);
  if (!labels) return { rejections };

  const spec = section(o, 'spec', reject), status = section(o, 'status', reject);
  let node: string | undefined;
  if (spec.nodeName !== undefined && spec.nodeName !== null && spec.nodeName !== '') {
    if (isDnsSubdomain(spec.nodeName)) node = spec.nodeName;
    else reject('spec.nodeName', `${preview(spec.nodeName)} is not a node name; the pod counts as not scheduled`);
  }
  let hostNetwork = false;
  if (spec.hostNetwork !== undefined && spec.hostNetwork !== null) {
    if (typeof spec.hostNetwork === 'boolean') hostNetwork = spec.hostNetwork;
    else (hostNetwork = true), reject('spec.hostNetwork', `${preview(spec.hostNetwork)} is not a boolean; read as true`);
  }
  let phase = 'Unknown';
  if (status.phase !== undefined && status.phase !== null) {
    if (typeof status.phase === 'string' && PHASES.includes(status.phase)) phase = status.phase;
    else reject('status.phase', `${preview(status.phase)} is not one of ${PHASES.join(', ')}; read as Unknown`);
  }
  let created = '';
  if (metadata.creationTimestamp !== undefined && metadata.creationTimestamp !== null) {
    const t = parseTimestamp(metadata.creationTimestamp);
    if (t !== undefined) created = t;
    else reject('metadata.creationTimestamp', `${preview(metadata.creationTimestamp)} is not an RFC 3339 timestamp`);
  }
  const record: PodRecord = {
    uid: id.uid, namespace: id.namespace!, name: id.name, labels, ...(node !== undefined ? { node } : {}),
    ips: podIps(status, reject), hostNetwork, phase, created, ports: ports(spec, reject),
  };
  return { record, rejections };
}

/** A pod's `spec` or `status`: absent reads as empty, anything but an object is rejected and read as empty. */
function section(o: Record<string, unknown>, key: 'spec' | 'status', reject: (field: string, reason: string) => void): Record<string, unknown> {
  const v = o[key];
  if (v === undefined || v === null) return {};
  if (isRecord(v)) return v;
  reject(key, `${preview(v)} is not an object; read as empty`);
  return {};
}

/** status.podIP and status.podIPs[].ip, canonical and deduplicated; an invalid address is not an address of the pod. */
function podIps(status: Record<string, unknown>, reject: (field: string, reason: string) => void): string[] {
  const ips: string[] = [];
  const add = (text: unknown, field: string): void => {
    // a dotted quad node accepts is canonical already (no leading zeros): skip the bigint round trip
    const ip = typeof text !== 'string' || text.length > 64 ? undefined : isIPv4(text) ? text : normalizeIp(text);
    if (ip === undefined) reject(field, `${preview(text)} is not an IP address; not an address of the pod`);
    else if (!ips.includes(ip)) ips.push(ip);
  };
  if (status.podIP !== undefined && status.podIP !== null && status.podIP !== '') add(status.podIP, 'status.podIP');
  const list = status.podIPs;
  if (list === undefined || list === null) return ips;
  if (!Array.isArray(list)) {
    reject('status.podIPs', `${preview(list)} is not a list`);
    return ips;
  }
  for (let i = 0; i < list.length; i++) {
    if (i >= MAX_POD_IPS) {
      reject(`status.podIPs[${i}]`, `a pod has at most ${MAX_POD_IPS} IPs; the rest are not addresses of the pod`);
      break;
    }
    const entry = list[i];
    add(isRecord(entry) ? entry.ip : entry, `status.podIPs[${i}].ip`);
  }
  return ips;
}

/**
 * The named ports, by the one projection the watcher uses too (`namedPorts`). Each named entry it cannot
 * resolve (invalid name, containerPort not an integer 1-65535, unknown protocol) is reported.
 */
function ports(spec: Record<string, unknown>, reject: (field: string, reason: string) => void): PodRecord['ports'] {
  const resolved = namedPorts(spec);
  const named: Array<[field: string, entry: unknown]> = [];
  for (const key of ['containers', 'initContainers'] as const) {
    const list = spec[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      reject(`spec.${key}`, `${preview(list)} is not a list`);
      continue;
    }
    list.forEach((container, i) => {
      // spec: of the init containers only restartable ones (sidecars) serve, as namedPorts reads them
      if (!isRecord(container) || (key === 'initContainers' && container.restartPolicy !== 'Always') || !Array.isArray(container.ports)) return;
      container.ports.forEach((p, j) => isRecord(p) && p.name !== undefined && named.push([`spec.${key}[${i}].ports[${j}]`, p]));
    });
  }
  if (named.length === resolved.length) return resolved;
  for (const [field, entry] of named)
    if (namedPorts({ containers: [{ ports: [entry] }] }).length === 0) {
      const p = entry as Record<string, unknown>;
      reject(field, `name ${preview(p.name)}, containerPort ${preview(p.containerPort)}, protocol ${preview(p.protocol ?? 'TCP')}: not an IANA_SVC_NAME with an integer 1-65535 and TCP, UDP or SCTP; resolves no named port`);
    }
  return resolved;
}

/** A Pod's record as the compiler keeps it, or undefined when the pod is skipped (for comparing projections). */
export function podRecord(uid: string, namespace: string, name: string, object: unknown): PodRecord | undefined {
  return readPod({ uid, namespace, name }, object).record;
}

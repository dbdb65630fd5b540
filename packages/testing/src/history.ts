import { EVENT_SCHEMA, expandNodeMessage, isNodeMessagePayload, isPointerPayload, names, parseNodeMessage, type ClusterEvent, type ObjectEvent, type ObjectKind, type RuleSet, seededRandom } from '@knp/shared';
import { ManifestCache, SetCache, checkSubjectMessage, fetchSets, publishLarge, readLarge, largeMessageKind } from '@knp/shared/nats';
import { compileNode, decodeEvent, emptyState, evolveAll, nodesOf, type FoldEvent } from '@knp/compiler';
import { eventSubjectOf, messageIdOf } from '@knp/watcher';
import type { JetStreamManager, NatsConnection } from 'nats';

/*
 * A deterministic cluster history for the compiler service tests: three nodes, three namespaces, pods that
 * come, change labels, go and reuse IPs, policies that are edited (one is always rejected), a namespace
 * relabelled, and at the end every pod of node-c leaving (its rule set must become empty).
 */

type Obj = Record<string, unknown>;
export const NODES = ['node-a', 'node-b', 'node-c.example'] as const;

const rng = seededRandom;

export type HistoryOptions = { readonly seed?: number; readonly churn?: number; readonly podsPerNode?: number; readonly bigNode?: number };

/** The events of the history, in publish order (no `seq`: the stream assigns it). */
export function history(opts: HistoryOptions = {}): ClusterEvent[] {
  const r = rng(opts.seed ?? 7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  let rv = 0;
  const events: ClusterEvent[] = [];
  const emit = (op: ObjectEvent['op'], kind: ObjectKind, object: Obj): void => {
    const md = object.metadata as { uid: string; name: string; namespace?: string };
    rv += 1;
    events.push({ schema: EVENT_SCHEMA, op, kind, uid: md.uid, ...(md.namespace ? { namespace: md.namespace } : {}), name: md.name, resourceVersion: String(rv), object } as ObjectEvent);
  };
  const namespaces = ['shop', 'data', 'ops'];
  for (const ns of namespaces) emit('added', 'Namespace', { metadata: { name: ns, uid: `ns-${ns}`, labels: { team: ns === 'ops' ? 'infra' : 'product' } } });

  const apps = ['web', 'api', 'db', 'cache'];
  const pods = new Map<string, Obj>();
  let podN = 0;
  const makePod = (node: string, ip: string): Obj => {
    podN += 1;
    const ns = pick(namespaces), app = pick(apps);
    return {
      metadata: { name: `${app}-${podN}`, namespace: ns, uid: `pod-${podN}`, labels: { app }, creationTimestamp: `2026-01-01T00:00:${String(podN % 60).padStart(2, '0')}Z` },
      spec: { nodeName: node, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090 }] }] },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
    };
  };
  const perNode = opts.podsPerNode ?? 8;
  for (const [i, node] of NODES.entries()) {
    const count = i === 0 && opts.bigNode ? opts.bigNode : perNode;
    for (let j = 0; j < count; j++) {
      const pod = makePod(node, `10.${i}.${Math.floor(j / 250)}.${(j % 250) + 1}`);
      pods.set((pod.metadata as { uid: string }).uid, pod);
      emit('added', 'Pod', pod);
    }
  }

  const policy = (ns: string, name: string, spec: Obj): Obj => ({ metadata: { name, namespace: ns, uid: `np-${ns}-${name}` }, spec });
  const policies = [
    policy('shop', 'web-from-ops', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'infra' } } }], ports: [{ port: 'http' }] }] }),
    policy('data', 'db-from-api', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 5432 }] }] }),
    policy('shop', 'deny-egress', { podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: {} }], ports: [{ port: 'metrics' }] }] }),
    policy('ops', 'broken', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0/8' } }] }] }),
  ];
  for (const p of policies) emit('added', 'NetworkPolicy', p);

  const clone = (o: Obj): Obj => JSON.parse(JSON.stringify(o)) as Obj;
  for (let i = 0; i < (opts.churn ?? 120); i++) {
    const roll = r();
    const live = [...pods.values()];
    if (roll < 0.45 && live.length > 0) {
      const pod = clone(pick(live));
      (pod.metadata as { labels: Record<string, string> }).labels = { app: pick(apps) };
      pods.set((pod.metadata as { uid: string }).uid, pod);
      emit('modified', 'Pod', pod);
    } else if (roll < 0.65 && live.length > 0) {
      // a pod goes and a new one takes its IP on the same node
      const gone = pick(live);
      pods.delete((gone.metadata as { uid: string }).uid);
      emit('deleted', 'Pod', gone);
      const pod = makePod((gone.spec as { nodeName: string }).nodeName, (gone.status as { podIP: string }).podIP);
      pods.set((pod.metadata as { uid: string }).uid, pod);
      emit('added', 'Pod', pod);
    } else if (roll < 0.85) {
      const p = clone(pick(policies.slice(0, 3)));
      const spec = p.spec as { ingress?: Array<{ ports?: Array<{ port: unknown }> }>; egress?: Array<{ ports?: Array<{ port: unknown }> }> };
      const rule = (spec.ingress ?? spec.egress)![0]!;
      rule.ports = [{ port: pick([80, 443, 5432, 'http', 'metrics']) }];
      policies[policies.findIndex((x) => (x.metadata as { uid: string }).uid === (p.metadata as { uid: string }).uid)] = p;
      emit('modified', 'NetworkPolicy', p);
    } else {
      const ns = pick(namespaces);
      emit('modified', 'Namespace', { metadata: { name: ns, uid: `ns-${ns}`, labels: { team: pick(['infra', 'product']) } } });
    }
  }
  // every pod of the last node leaves
  for (const pod of [...pods.values()])
    if ((pod.spec as { nodeName: string }).nodeName === NODES[2]) pods.delete((pod.metadata as { uid: string }).uid), emit('deleted', 'Pod', pod);
  return events;
}

/** Publishes events in order, the way the watcher does (subject, message id, large-message chunking). Returns their sequences. */
export async function publishEvents(nc: NatsConnection, prefix: string, events: readonly ClusterEvent[]): Promise<number[]> {
  const js = nc.jetstream();
  const seqs: number[] = [];
  for (const e of events) {
    const ack = await publishLarge(js, eventSubjectOf(prefix, e), Buffer.from(JSON.stringify(e)), { maxPayload: nc.info!.max_payload, msgID: messageIdOf(e) });
    seqs.push(ack.seq);
  }
  return seqs;
}

/** Every node's rule set content computed by the pure core from events (with their stream sequences). */
export function expectedContents(epoch: string, events: readonly ClusterEvent[], nodes: readonly string[] = NODES): Map<string, string> {
  // decoded at the edge as the compiler service does, each at its stream sequence
  const state = evolveAll(emptyState(epoch), events.flatMap((e): FoldEvent[] => { const { event } = decodeEvent(e, e.seq); return event ? [event] : []; }));
  const out = new Map<string, string>();
  for (const node of new Set([...nodes, ...nodesOf(state)])) out.set(node, contentOf(compileNode(state, node).ruleSet));
  return out;
}

/** A rule set without its version: what must be equal whatever path computed it. */
export function contentOf(rs: RuleSet): string {
  const { version: _version, ...content } = rs;
  return JSON.stringify(content);
}

export type Published = { readonly streamSeq: number; readonly msgId: string; readonly ruleSet: RuleSet };

/**
 * Every rule set on the rules stream, in stream order, by node (parts skipped, manifests reassembled). Node
 * messages (FULL / DELTA) are made whole on the node's previous rule set with the set store's contents, so
 * a delta that does not fit its base fails the test here. A FULL restating the previous version (the
 * writer's background compaction: same version, same content) is not a new rule set and is left out.
 */
export async function readRulesHistory(jsm: JetStreamManager, prefix: string): Promise<Map<string, Published[]>> {
  const stream = names(prefix).rulesStream;
  const { state } = await jsm.streams.info(stream);
  const out = new Map<string, Published[]>();
  const cache = new SetCache();
  const manifests = new ManifestCache();
  const t = { js: undefined as never, jsm, prefix, maxPayload: 0, trust: { mode: 'unsigned' } as const };
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq += 1) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
    if (!m || largeMessageKind(m.header) === 'part') continue;
    const data = (await readLarge(jsm, stream, { subject: m.subject, data: m.data, headers: m.header }))!;
    let ruleSet: RuleSet;
    if (isNodeMessagePayload(data)) {
      const node = names(prefix).nodeOfRulesSubject(m.subject) ?? '';
      const parsed = isPointerPayload(data) ? await checkSubjectMessage(t, node, m.header, data, manifests) : parseNodeMessage(data);
      if (parsed.kind === 'refuse') throw new Error(`rules stream seq ${seq}: ${parsed.reason}: ${parsed.detail}`);
      if (parsed.kind !== 'ok') throw new Error(`rules stream seq ${seq}: ${parsed.detail}`);
      const base = out.get(parsed.value.node)?.at(-1)?.ruleSet;
      let expanded = expandNodeMessage(parsed.value, base, cache.get);
      if (expanded.kind === 'missing') {
        await fetchSets(t, expanded.refs, cache);
        expanded = expandNodeMessage(parsed.value, base, cache.get);
      }
      if (expanded.kind !== 'ok') throw new Error(`rules stream seq ${seq}: ${expanded.kind === 'refuse' ? expanded.detail : 'sets missing'}`);
      ruleSet = expanded.ruleSet;
      if (parsed.value.kind === 'full' && base && base.contentHash === ruleSet.contentHash && base.version.seq === ruleSet.version.seq && base.version.epoch === ruleSet.version.epoch) continue;
    } else ruleSet = JSON.parse(Buffer.from(data).toString('utf8')) as RuleSet;
    const list = out.get(ruleSet.node) ?? out.set(ruleSet.node, []).get(ruleSet.node)!;
    list.push({ streamSeq: seq, msgId: m.header?.get('Nats-Msg-Id') ?? '', ruleSet });
  }
  return out;
}

/** Pointer messages on the rules stream (after `afterSeq`): how many set-only changes travelled as pointers to an event manifest. */
export async function pointersOnRulesStream(jsm: JetStreamManager, prefix: string, afterSeq = 0): Promise<number> {
  const stream = names(prefix).rulesStream;
  const { state } = await jsm.streams.info(stream);
  let pointers = 0;
  for (let seq = Math.max(state.first_seq, afterSeq + 1); state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
    if (m && isPointerPayload(m.data)) pointers += 1;
  }
  return pointers;
}

/** The last rule set per node on the rules stream. */
export async function lastPublished(jsm: JetStreamManager, prefix: string): Promise<Map<string, RuleSet>> {
  const out = new Map<string, RuleSet>();
  for (const [node, list] of await readRulesHistory(jsm, prefix)) out.set(node, list[list.length - 1]!.ruleSet);
  return out;
}

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom } from '@knp/shared';
import { clusterPods, type ClusterState } from '../src/index.js';
import { allVerdicts, namespace, pod, policy } from '@knp/testing';
import { decodeWire, foldWire, wireEvent } from './wire-fold.js';

/*
 * Property: folding a valid event stream with random garbage and invalidating mutations of its own events
 * mixed in never throws, and never yields a state that allows more than folding the valid events alone.
 *
 * Each mutation makes its copy invalid in one place, and the copy lands right after the event it was made
 * from, so it replaces that object when it is kept (its invalid field rejected) until the next valid event
 * does. The valid pods are Running or Pending with IPs never reused: an invalid phase reads as Unknown,
 * which is live as they are, and an invalid creationTimestamp then decides no IP's owner.
 */
const Property = suite('folding garbage never allows more');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Rand = { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T };
const rand = (seed: number): Rand => {
  const next = seededRandom(seed);
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)]! };
};
const clone = <T>(x: T): T => structuredClone(x);

const NSS = ['a', 'b', 'c'], APPS = ['web', 'db', 'api'], NODES = ['n1', 'n2', 'n3'];

/** A valid stream: namespaces, pods with fresh IPs, policies; adds, label changes and deletes. */
function validStream(r: Rand, length: number): Obj[] {
  const out: Obj[] = [];
  const live = new Map<string, Obj>();
  let ipN = 0, rv = 0;
  const emit = (op: 'added' | 'modified' | 'deleted', object: unknown): void => {
    const e = wireEvent(object, op) as Obj;
    e.resourceVersion = String(++rv);
    out.push(e);
    if (op === 'deleted') live.delete(e.uid);
    else live.set(e.uid, object as Obj);
  };
  for (const ns of NSS) emit('added', namespace(ns, { env: r.pick(['prod', 'dev']) }));
  while (out.length < length) {
    const roll = r.next();
    const existing = [...live.values()];
    if (roll < 0.4) {
      ipN += 1;
      emit('added', pod({
        ns: r.pick(NSS), name: `p${ipN}`, uid: `pod-${ipN}`, labels: { app: r.pick(APPS) }, node: r.pick(NODES), ip: `10.1.${ipN >> 8}.${ipN & 255}`,
        phase: r.pick(['Running', 'Pending']), ports: [{ name: 'svc', port: r.pick([80, 8080]) }], created: `2026-01-01T00:00:${String(ipN % 60).padStart(2, '0')}Z`,
      }));
    } else if (roll < 0.6) {
      const peer = r.pick<Obj>([
        { podSelector: { matchLabels: { app: r.pick(APPS) } } },
        { namespaceSelector: { matchLabels: { env: r.pick(['prod', 'dev']) } } },
        { namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: [r.pick(APPS)] }] } },
        { ipBlock: { cidr: '10.1.0.0/28', except: ['10.1.0.8/30'] } },
      ]);
      const ports = r.pick([undefined, [{ port: 80 }], [{ port: 'svc' }], [{ port: 8000, endPort: 8100 }]]);
      const rule = (field: 'from' | 'to'): Obj => ({ [field]: [peer], ...(ports ? { ports } : {}) });
      const types = r.pick([undefined, ['Ingress'], ['Egress'], ['Ingress', 'Egress']]);
      emit('added', policy(r.pick(NSS), `pol${r.int(6)}`, {
        podSelector: r.next() < 0.3 ? {} : { matchLabels: { app: r.pick(APPS) } },
        ...(types ? { policyTypes: types } : {}),
        ingress: [rule('from')],
        ...(r.next() < 0.7 ? { egress: [rule('to')] } : {}),
      }));
    } else if (roll < 0.85 && existing.length > 0) {
      const object = clone(r.pick(existing));
      if (object.kind === 'Pod') object.metadata.labels = { app: r.pick(APPS) };
      if (object.kind === 'Namespace') object.metadata.labels = { env: r.pick(['prod', 'dev']) };
      emit('modified', object);
    } else if (roll < 0.9) {
      // a relist: every live pod but maybe one, in two chunks
      const uids = [...live.values()].filter((o) => o.kind === 'Pod').map((o) => o.metadata.uid as string).sort();
      if (uids.length > 0 && r.next() < 0.5) {
        const gone = r.pick(uids);
        uids.splice(uids.indexOf(gone), 1);
        live.delete(gone);
      }
      const syncId = `sync-${out.length}`, half = Math.ceil(uids.length / 2);
      for (const [chunk, part] of [uids.slice(0, half), uids.slice(half)].entries())
        out.push({ schema: 1, op: 'sync', kind: 'Pod', resourceVersion: String(++rv), syncId, chunk, chunks: 2, uids: part });
    } else if (existing.length > 0) {
      emit('deleted', r.pick(existing));
    }
  }
  return out;
}

const HUGE = 'z'.repeat(100_000);
const BAD_UIDS = ['__proto__', 'has space', '', HUGE, '-lead', 7, null];
const BAD_NAMES = ['__proto__', 'toString', 'Bad', '', 'a..b', HUGE, 'x'.repeat(254), 0];
const BAD_NAMESPACES = ['__proto__', 'hasOwnProperty', 'a.b', 'x'.repeat(64), '', [], 5];
const WRONG_TYPES = [null, 0, 1.5, true, [], {}, 'text'];

/** A copy of a valid event made invalid in one place: its envelope (skipped) or one of its object's fields. */
function mutate(r: Rand, event: Obj): Obj {
  const e = clone(event);
  const required = ['schema', 'op', 'kind', 'uid', 'name', 'resourceVersion', ...(e.kind === 'Namespace' ? [] : ['namespace']), ...(e.op === 'deleted' ? [] : ['object'])];
  const envelope: Array<() => void> = [
    () => void delete e[r.pick(required)],
    () => void (e[r.pick(required.filter((k) => k !== 'object'))] = r.pick(WRONG_TYPES)),
    () => void (e.uid = r.pick(BAD_UIDS)),
    () => void (e.name = r.pick(BAD_NAMES)),
    () => void (e.kind === 'Namespace' ? (e.namespace = 'x') : (e.namespace = r.pick(BAD_NAMESPACES))),
    () => void (e.schema = 2),
    () => void (e.op = r.pick(['patched', 'toString', '__proto__'])),
    () => void (e.kind = r.pick(['Service', 'constructor', '__proto__'])),
    () => void (e.resourceVersion = HUGE),
  ];
  const o = e.object as Obj | undefined;
  const objectLevel: Array<() => void> = [];
  if (o && e.op !== 'deleted') {
    objectLevel.push(
      () => void (o.metadata.uid = 'uid-someone-else'),
      () => void (o.metadata.labels = { ...o.metadata.labels, [r.pick(['__proto__', 'a b', 'x/y/z', 'k'.repeat(64)])]: 'v' }),
      () => void (o.metadata.labels = { ...o.metadata.labels, app: r.pick(['a b', '__proto__', HUGE, 7]) }),
      () => void (o.metadata.labels = r.pick(['labels', ['app']])),
    );
    if (e.kind === 'Pod')
      objectLevel.push(
        () => void ((o.status.podIP = r.pick(['10.1.0.300', 'nope', HUGE, 7])), (o.status.podIPs = r.pick([undefined, 'x', [{ ip: 'garbage' }]]))),
        () => void (o.spec.nodeName = r.pick(['Node_1', HUGE, 3])),
        () => void (o.spec.hostNetwork = r.pick(['yes', 1, {}])),
        () => void (o.status.phase = r.pick(['Exploded', 3, null])),
        () => void (o.metadata.creationTimestamp = r.pick(['yesterday', '2026-13-01T00:00:00Z', 5])),
        () => void (o.spec.containers[0].ports[0].containerPort = r.pick([1.5, 70000, '80', -1])),
        () => void (o.spec = r.pick(['spec', 5])),
        () => void (o.status = r.pick(['status', []])),
      );
    if (e.kind === 'NetworkPolicy') {
      const rules = [...(o.spec.ingress ?? []).map((rule: Obj) => [rule, 'from']), ...(o.spec.egress ?? []).map((rule: Obj) => [rule, 'to'])] as Array<[Obj, string]>;
      const someRule = (edit: (rule: Obj, peers: string) => void) => () => void edit(...r.pick(rules));
      objectLevel.push(
        () => void (o.spec.podSelector = r.pick([{ matchLabels: { 'a b': 'x' } }, { matchExpressions: [{ key: 'app', operator: 'In' }] }, 'all'])),
        () => void (o.spec.policyTypes = r.pick([['Sideways'], 'Ingress', [1]])),
        () => void (o.spec = r.pick(['spec', null, []])),
        () => void (o.spec.ingress = r.pick(['rules', {}, 5])),
        () => void (o.spec.egress = r.pick(['rules', {}, 5])),
        someRule((rule) => void (rule.ports = [{ port: r.pick([70000, 0, 'Bad_Name', 1.5]) }])),
        someRule((rule, peers) => void (rule[peers] = [{ ipBlock: { cidr: r.pick(['10.0.0/8', HUGE, '10.1.0.0/16 accept']) } }])),
        someRule((rule, peers) => void (rule[peers] = [{ podSelector: { matchLabels: { app: r.pick(['a b', HUGE]) } } }])),
        someRule((rule, peers) => void (rule[peers] = [{ namespaceSelector: { matchExpressions: [{ key: '__proto__', operator: 'Exists' }] } }])),
      );
    }
  }
  if (e.op === 'sync')
    envelope.push(
      () => void (e.chunk = r.pick([-1, 0.5, '0', 99])),
      () => void (e.chunks = r.pick([0, 1.5, '1'])),
      () => void (e.uids = r.pick(['uid', [7], ['has space'], [HUGE]])),
      () => void (e.syncId = r.pick([HUGE, '', 5])),
    );
  r.pick(r.next() < 0.5 && objectLevel.length > 0 ? objectLevel : envelope)();
  return e;
}

/** Random JSON that is never a valid event (no value in its pools is a valid op). */
function garbage(r: Rand, depth = 0): unknown {
  const keys = ['schema', 'op', 'kind', 'uid', 'name', 'namespace', 'object', 'uids', 'chunk', 'chunks', 'syncId', 'metadata', 'labels', '__proto__', 'constructor'];
  const leaf = (): unknown => r.pick<unknown>([null, true, 0, -1, 1.5, '', 'x y', '__proto__', 'constructor', 'Pod', HUGE]);
  const roll = r.next();
  if (depth > 2 || roll < 0.4) return leaf();
  if (roll < 0.6) return Array.from({ length: r.int(4) }, () => garbage(r, depth + 1));
  return Object.fromEntries(Array.from({ length: r.int(6) }, () => [r.pick(keys), garbage(r, depth + 1)]));
}

/** Every (from, to, port) verdict between pods with an IP in the state. */
function allowedPairs(state: ClusterState): Map<string, boolean> {
  return allVerdicts(state, [80, 8080, 8050]);
}

const seeds = process.env.KNP_SEEDS ? Array.from({ length: Number(process.env.KNP_SEEDS) }, (_, i) => i + 1) : Array.from({ length: 25 }, (_, i) => i + 1);
for (const seed of seeds)
  Property(`seed ${seed}: garbage and invalid copies fold without throwing and allow nothing more`, () => {
    const r = rand(seed);
    const valid = validStream(r, 120);
    const mixed: unknown[] = [];
    for (const event of valid) {
      mixed.push(event);
      if (r.next() < 0.35) mixed.push(mutate(r, event));
      if (r.next() < 0.15) {
        const g = garbage(r);
        assert.not.ok(decodeWire(g).kept, `garbage is skipped: ${JSON.stringify(g)?.slice(0, 200)}`);
        mixed.push(g);
      }
    }
    const clean = foldWire(valid);
    const dirty = foldWire(mixed);
    const cleanPods = new Map(clusterPods(clean).map((p) => [p.ref, p.ips.join(',')]));
    for (const p of clusterPods(dirty)) assert.is(cleanPods.get(p.ref), p.ips.join(','), `${p.ref} is a pod of the valid stream, with its IPs`);
    const allowedClean = allowedPairs(clean);
    for (const [pair, allowed] of allowedPairs(dirty)) if (allowed) assert.ok(allowedClean.get(pair), `${pair} is allowed only if the valid stream allows it`);
  });

Property.run();

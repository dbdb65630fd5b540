import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileAll, explainMatrix, type ClusterState } from '../src/index.js';
import { namespace, pod, policy } from '@knp/testing';
import { foldObjects, foldWire, wireEvent } from './wire-fold.js';

/*
 * Names that are also property names of every JavaScript object, in every position an API string takes,
 * through compile and explain: the verdicts equal those of the same cluster with innocuous names. A word
 * that is not a valid Kubernetes string in a position makes the validator drop what carries it; then the
 * comparison is with the innocuous cluster without those objects (or fields). Object.prototype stays as it was.
 */
const Hostile = suite('hostile names');

const WORDS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'] as const;
type Word = (typeof WORDS)[number];
type Position = 'namespace' | 'name' | 'uid' | 'labelKey' | 'labelValue' | 'portName' | 'node';

/** What Kubernetes accepts, written out by hand (not computed by the code under test). */
const VALID: Record<Position, readonly Word[]> = {
  namespace: ['constructor', 'prototype'], // DNS-1123 label: lower case, digits, '-'
  name: ['constructor', 'prototype'], // DNS-1123 subdomain
  uid: ['constructor', 'prototype', 'toString', 'hasOwnProperty'], // letters, digits, '-', '.', '_' inside
  labelKey: ['constructor', 'prototype', 'toString', 'hasOwnProperty'], // [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?
  labelValue: ['constructor', 'prototype', 'toString', 'hasOwnProperty'],
  portName: ['constructor', 'prototype'], // IANA_SVC_NAME: lower case
  node: ['constructor', 'prototype'], // DNS-1123 subdomain
};

/** The innocuous word each position takes in the reference cluster. */
const INNOCUOUS: Record<Position, string> = { namespace: 'gamma', name: 'named', uid: 'uid-named', labelKey: 'flag', labelValue: 'on', portName: 'svc', node: 'n2' };

/**
 * The cluster with `word` in `position`. `dropped`: without what an invalid word there makes the validator
 * drop (objects skipped, a field rejected), i.e. what the API server could have held instead.
 */
function objects(position: Position, word: string, dropped = false): unknown[] {
  const at = (p: Position): string => (p === position ? word : INNOCUOUS[p]);
  const ns = at('namespace'), name = at('name'), node = at('node'), port = at('portName');
  const flag = { [at('labelKey')]: at('labelValue') };
  const dropNs = dropped && position === 'namespace';
  const dropName = dropped && position === 'name';
  const dropLabelled = dropped && (position === 'labelKey' || position === 'labelValue');
  const dropPort = dropped && position === 'portName';
  const dropNode = dropped && position === 'node';
  const out: unknown[] = [
    namespace('alpha', { team: 'a' }),
    pod({ ns: 'alpha', name: 'client', labels: { role: 'client' }, ip: '10.0.0.1', node: 'n1' }),
    pod({ ns: 'alpha', name: 'server', labels: { role: 'server' }, ip: '10.0.0.2', node: 'n1', ports: [{ name: 'http', port: 8080 }] }),
    pod({ ns: 'alpha', name: 'ported', labels: { role: 'ported' }, ip: '10.0.0.6', node: 'n1', ports: dropPort ? [] : [{ name: port, port: 9000 }] }),
    // spec: a podSelector-only peer selects pods in the policy's own namespace only
    policy('alpha', 'server-ingress', { podSelector: { matchLabels: { role: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 'http' }, { port: 80 }] }] }),
    policy('alpha', 'ported', { podSelector: { matchLabels: { role: 'ported' } }, ingress: dropPort ? [] : [{ ports: [{ port }] }] }),
  ];
  if (!dropNs)
    out.push(
      namespace(ns, { team: 'g' }),
      pod({ ns, name: 'other', labels: { role: 'client' }, ip: '10.0.0.3', ...(dropNode ? {} : { node }) }),
      policy(ns, 'egress-limit', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: { matchLabels: { role: 'server' } } }] }] }),
    );
  if (!dropName)
    out.push(
      pod({ ns: 'alpha', name, uid: at('uid'), labels: { role: 'server' }, ip: '10.0.0.4', node: 'n2' }),
      policy('alpha', name, { podSelector: { matchLabels: { role: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'g' } } }] }] }),
    );
  if (!dropLabelled)
    out.push(
      pod({ ns: 'alpha', name: 'labelled', labels: { ...flag }, ip: '10.0.0.5', node: 'n2' }),
      policy('alpha', 'labelled', { podSelector: { matchLabels: { ...flag } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'g' } } }] }] }),
    );
  if (dropped && position === 'uid') return out.filter((o) => (o as { metadata: { uid?: string } }).metadata.uid !== word);
  return out;
}

/** Every verdict, by (from, to, port), with the word read back as the innocuous one. */
function verdicts(state: ClusterState, position: Position, word: string): Map<string, boolean> {
  const ruleSets = compileAll(state);
  const out = new Map<string, boolean>();
  const plain = (ref: string): string => ref.split(word).join(INNOCUOUS[position]);
  for (const port of [80, 8080, 9000]) {
    const m = explainMatrix(state, ruleSets, port, 'TCP');
    m.pods.forEach((from, i) => m.pods.forEach((to, j) => out.set(`${plain(from)} -> ${plain(to)} :${port}`, m.allowed[i]![j]!)));
  }
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Own property names of Object.prototype, Object and the functions on Object.prototype. */
function prototypeFingerprint(): string {
  const names = (o: object): string[] => Object.getOwnPropertyNames(o).sort();
  const fns = names(Object.prototype).flatMap((k) => {
    const v = (Object.prototype as Record<string, unknown>)[k];
    return typeof v === 'function' ? [`${k}: ${names(v).join(',')}`] : [];
  });
  return JSON.stringify({ proto: names(Object.prototype), object: names(Object), fns });
}
const pristine = prototypeFingerprint();
const probe = (): unknown[] => ['namespaceSelector', 'podSelector', 'uid', 'uid-named', 'alpha', 'n1'].map((k) => ({} as Record<string, unknown>)[k]);

const POSITIONS: readonly Position[] = ['namespace', 'name', 'uid', 'labelKey', 'labelValue', 'portName', 'node'];
for (const position of POSITIONS) {
  for (const word of WORDS) {
    const valid = VALID[position].includes(word);
    const expected = () => verdicts(foldObjects(objects(position, INNOCUOUS[position], !valid)), position, INNOCUOUS[position]);
    Hostile(`${JSON.stringify(word)} as ${position} ${valid ? 'gives the innocuous verdicts' : 'is dropped like any invalid name'} (manifests)`, () => {
      const got = verdicts(foldObjects(objects(position, word)), position, word);
      assert.equal([...got], [...expected()]);
      assert.is(prototypeFingerprint(), pristine, 'Object.prototype untouched');
      assert.equal(probe(), probe().map(() => undefined));
    });
    Hostile(`${JSON.stringify(word)} as ${position} ${valid ? 'gives the innocuous verdicts' : 'is dropped like any invalid name'} (wire events)`, () => {
      const got = verdicts(foldWire(objects(position, word).map((o) => JSON.parse(JSON.stringify(wireEvent(o))) as unknown)), position, word);
      assert.equal([...got], [...expected()]);
      assert.is(prototypeFingerprint(), pristine, 'Object.prototype untouched');
      assert.equal(probe(), probe().map(() => undefined));
    });
  }
}

Hostile('a pod in namespace "__proto__" with uid "namespaceSelector" changes no verdict (the issue\'s reproduction)', () => {
  const reference = verdicts(foldObjects(objects('namespace', 'gamma')), 'namespace', 'gamma');
  const hostile = [...objects('namespace', 'gamma'), pod({ ns: '__proto__', name: 'x', uid: 'namespaceSelector', labels: { role: 'client' }, ip: '10.0.0.7', node: 'n1' })];
  assert.equal([...verdicts(foldObjects(hostile), 'namespace', 'gamma')], [...reference]);
  assert.equal([...verdicts(foldWire(hostile.map((o) => wireEvent(o))), 'namespace', 'gamma')], [...reference]);
  assert.is(prototypeFingerprint(), pristine, 'Object.prototype untouched');
});

Hostile('the reference cluster is not trivial: it allows some and denies some', () => {
  const v = [...verdicts(foldObjects(objects('namespace', 'gamma')), 'namespace', 'gamma').values()];
  assert.ok(v.includes(true) && v.includes(false));
});

Hostile.run();

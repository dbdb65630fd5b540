import { gunzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { manifestUid } from '@knp/shared';
import { cluster, clusterPolicy, namespace, node, pod, policy } from '@knp/testing';
import { affectedNodes, compileAll, compileNode, emptyState, evolve, eventsFromObjects, nodesOf, type ClusterState, type FoldEvent } from '../src/index.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_SCHEMA } from '../src/service/snapshot-codec.js';
import { foldWire, wireEvent } from './wire-fold.js';

/** Nodes and ClusterNetworkPolicies in the fold: upsert, delete, sync deletion, snapshots, incremental recompiles. */
const Fold = suite('ClusterNetworkPolicy and Node fold');

const cnp = (name: string, priority = 1) =>
  clusterPolicy(name, { tier: 'Admin', priority, subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ nodes: { matchLabels: { role: 'cp' } } }, { networks: ['203.0.113.0/24', '2001:db8::/32'] }] }] });
const uidOf = (kind: 'Node' | 'ClusterNetworkPolicy', name: string) => manifestUid(kind, undefined, name);
const sync = (kind: 'Node' | 'ClusterNetworkPolicy', names: string[]) => ({ schema: 1, op: 'sync', kind, resourceVersion: '9', syncId: `s-${kind}`, chunk: 0, chunks: 1, uids: names.map((n) => uidOf(kind, n)) });

Fold('wire events upsert and delete Nodes and ClusterNetworkPolicies by uid', () => {
  let s = foldWire([wireEvent(node('n1', { role: 'cp' }, ['192.168.0.1'])), wireEvent(cnp('p'))]);
  assert.equal(s.nodes[uidOf('Node', 'n1')]?.ips, ['192.168.0.1']);
  assert.is(s.clusterPolicies[uidOf('ClusterNetworkPolicy', 'p')]?.priority, 1);
  s = foldWire([wireEvent(cnp('p', 7), 'modified'), wireEvent(node('n1'), 'deleted')], s);
  assert.is(s.clusterPolicies[uidOf('ClusterNetworkPolicy', 'p')]?.priority, 7);
  assert.equal(Object.keys(s.nodes), []);
  s = foldWire([wireEvent(cnp('p'), 'deleted')], s);
  assert.equal(Object.keys(s.clusterPolicies), []);
});

Fold('a policy update that is skipped keeps the earlier valid version', () => {
  let s = foldWire([wireEvent(cnp('p', 3))]);
  s = foldWire([wireEvent(clusterPolicy('p', { tier: 'Admin', priority: 5000, subject: { namespaces: {} } }), 'modified')], s);
  assert.is(s.clusterPolicies[uidOf('ClusterNetworkPolicy', 'p')]?.priority, 3);
});

Fold('a full sync deletes the Nodes and ClusterNetworkPolicies it does not name, and marks the kind synced', () => {
  let s = foldWire([wireEvent(node('n1')), wireEvent(node('n2')), wireEvent(cnp('p')), wireEvent(cnp('q'))]);
  s = foldWire([sync('Node', ['n2']), sync('ClusterNetworkPolicy', ['q'])], s);
  assert.equal(Object.values(s.nodes).map((n) => n.name), ['n2']);
  assert.equal(Object.values(s.clusterPolicies).map((p) => p.name), ['q']);
  assert.equal([s.trust.synced.Node, s.trust.synced.ClusterNetworkPolicy], [true, true]);
});

Fold(`a snapshot (schema ${SNAPSHOT_SCHEMA}) carries Nodes and ClusterNetworkPolicies and compiles the same`, () => {
  const s0 = cluster([namespace('x'), pod({ ns: 'x', name: 'a', ip: '10.0.0.1', node: 'n1' }), node('cp1', { role: 'cp' }, ['192.168.0.1', 'fd01::1']), cnp('p')]);
  const s = { ...s0, epoch: 'e1' } as ClusterState;
  const decoded = decodeSnapshot(encodeSnapshot(s), 'e1').state;
  assert.equal(JSON.stringify(compileAll(decoded)), JSON.stringify(compileAll(s)));
  assert.ok(compileNode(decoded, 'n1').ruleSet.tierRules?.length === 1);
  assert.is(Object.getPrototypeOf(decoded.nodes), null);
  assert.is(Object.getPrototypeOf(decoded.nodes[uidOf('Node', 'cp1')]!.labels), null);
  const raw = JSON.parse(gunzipSync(encodeSnapshot(s)).toString('utf8')) as Record<string, unknown>;
  assert.throws(() => decodeSnapshot(Buffer.from(JSON.stringify({ ...raw, schema: 3 })), 'e1'), /schema version 3/);
});

/*
 * Property: with Nodes, ClusterNetworkPolicies and NetworkPolicies in a random history (pods that finish or
 * use the host network, pods in namespaces without a record, `pods` subjects with a namespaceSelector),
 * recompiling only the nodes affectedNodes names gives every node the rule set a full compile gives.
 */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

type PodObject = { metadata: { namespace: string; name: string; labels?: Record<string, string> } };

function randomObject(rand: () => number, step: number, pods: Map<string, PodObject>): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const nss = ['a', 'b', 'c'], apps = ['web', 'db'], nodes = ['n1', 'n2', 'n3', 'n4'];
  const r = rand();
  if (r < 0.1) return namespace(pick(nss), { env: pick(['prod', 'dev']) });
  if (r < 0.18) return node(pick(nodes), { role: pick(['cp', 'worker']) }, [`192.168.0.${Math.floor(rand() * 4)}`]);
  // a pod seen before with its labels alone changed: the path affectedNodes narrows for cluster-wide peers
  if (r < 0.3 && pods.size > 0) {
    const before = pick([...pods.values()]);
    const after = { ...before, metadata: { ...before.metadata, labels: { app: pick(apps), ...(rand() < 0.5 ? { tier: 'x' } : {}) } } };
    pods.set(`${after.metadata.namespace}/${after.metadata.name}`, after);
    return after;
  }
  if (r < 0.6) {
    const made = pod({
      ns: pick(nss), name: `p${Math.floor(rand() * 6)}`, labels: { app: pick(apps) }, node: pick(nodes), ip: `10.0.0.${Math.floor(rand() * 8)}`,
      phase: rand() < 0.1 ? 'Succeeded' : 'Running', hostNetwork: rand() < 0.1,
      ports: [{ name: 'svc', port: pick([80, 81]), protocol: pick(['TCP', 'UDP'] as const) }], created: `2026-01-01T00:00:${String(step % 60).padStart(2, '0')}Z`,
    }) as PodObject;
    pods.set(`${made.metadata.namespace}/${made.metadata.name}`, made);
    return made;
  }
  if (r < 0.75) {
    const peer = pick<unknown>([{ podSelector: { matchLabels: { app: pick(apps) } } }, { namespaceSelector: { matchLabels: { env: pick(['prod', 'dev']) } } }, { ipBlock: { cidr: '10.0.0.0/29' } }]);
    const ports = pick([undefined, [{ port: 80 }], [{ port: 'svc' }]]);
    return policy(pick(nss), `pol${Math.floor(rand() * 3)}`, {
      podSelector: rand() < 0.3 ? {} : { matchLabels: { app: pick(apps) } }, policyTypes: pick([['Ingress'], ['Egress'], ['Ingress', 'Egress']]),
      ingress: [{ from: [peer], ...(ports ? { ports } : {}) }], egress: [{ to: [peer], ...(ports ? { ports } : {}) }],
    });
  }
  const peer = pick<Record<string, unknown>>([
    { pods: { namespaceSelector: { matchLabels: { env: 'prod' } }, podSelector: { matchLabels: { app: pick(apps) } } } },
    { pods: { podSelector: { matchLabels: { app: pick(apps) } } } },
    { namespaces: { matchLabels: { env: pick(['prod', 'dev']) } } },
    { nodes: { matchLabels: { role: 'cp' } } },
    { networks: ['10.0.0.0/29'] },
    {},
  ]);
  const named = rand() < 0.3 && ('pods' in peer || 'namespaces' in peer);
  const rule = { action: pick(['Accept', 'Deny', 'Pass']), ...(named ? { protocols: [{ destinationNamedPort: 'svc' }] } : {}) };
  const ingressPeer = 'nodes' in peer || 'networks' in peer ? { namespaces: {} } : peer;
  const subject = rand() < 0.5
    ? { namespaces: pick([{}, { matchLabels: { env: pick(['prod', 'dev']) } }, { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }]) }
    : { pods: { namespaceSelector: rand() < 0.5 ? {} : { matchLabels: { env: 'dev' } }, podSelector: { matchLabels: { app: pick(apps) } } } };
  return clusterPolicy(`cnp${Math.floor(rand() * 4)}`, {
    tier: pick(['Admin', 'Baseline']), priority: Math.floor(rand() * 3), subject,
    ingress: [{ ...rule, from: [ingressPeer] }], egress: [{ ...rule, to: [peer] }],
  });
}

function randomEvent(rand: () => number, step: number, pods: Map<string, PodObject>): FoldEvent {
  const [event] = eventsFromObjects([randomObject(rand, step, pods)]).events;
  if (event?.op !== 'upsert') throw new Error('randomEvent: not an upsert');
  if (rand() >= 0.2) return event;
  const { record: _record, ...identity } = event;
  return { ...identity, op: 'delete' } as FoldEvent;
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8])
  Fold(`incremental recompilation equals a full compile with Nodes, ClusterNetworkPolicies and NetworkPolicies (seed ${seed}, 150 events)`, () => {
    const rand = prng(seed);
    let state: ClusterState = emptyState();
    let hashes: Record<string, string> = {};
    const kinds = new Set<string>();
    const pods = new Map<string, PodObject>();
    for (let step = 0; step < 150; step++) {
      const event = randomEvent(rand, step, pods);
      kinds.add(event.kind);
      const next = evolve(state, event);
      for (const n of affectedNodes(state, next, event)) hashes[n] = compileNode(next, n).ruleSet.contentHash;
      state = next;
      const full = compileAll(state);
      for (const n of nodesOf(state))
        assert.is(hashes[n] ?? compileNode(emptyState(), n).ruleSet.contentHash, full[n]!.contentHash, `step ${step} node ${n} after ${event.op} ${event.kind}`);
      hashes = Object.fromEntries(Object.entries(hashes).filter(([n]) => nodesOf(state).includes(n)));
    }
    assert.equal([...kinds].sort(), ['ClusterNetworkPolicy', 'Namespace', 'NetworkPolicy', 'Node', 'Pod'], 'the history holds every kind');
  });

Fold.run();

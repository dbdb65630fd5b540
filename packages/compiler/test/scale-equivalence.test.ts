import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { contentHash } from '@knp/shared';
import { affectedNodes, compileNode, emptyState, eventsFromObjects, evolve, evolveAll, nodesOf, type ClusterState, type FoldEvent } from '../src/index.js';
import { decodeSnapshot, encodeSnapshot } from '../src/service/snapshot-codec.js';
import { generateCluster, rng, withPodLabelChange, withPolicyRuleEdit } from '../bench/synthetic-cluster.js';

/*
 * The fold (copy-on-write), the node index kept across states, the memoised content hash and the snapshot
 * codec were rewritten for 100k pods; their results must be byte for byte those of the code before. The
 * digests in fixtures/synthetic-digests.json were printed by fixtures/synthetic-digests.mjs run on the
 * compiler before the change; this test takes the very same steps.
 */
const Same = suite('scale rewrite: the same bytes as before');

type Obj = Record<string, unknown>;
type Md = { uid: string; name: string; namespace: string };
const golden = JSON.parse(readFileSync(new URL('../../test/fixtures/synthetic-digests.json', import.meta.url), 'utf8')) as {
  before: Record<string, string>;
  after: Record<string, string>;
  snapshot: string;
};
const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const digest = (state: ClusterState, node: string): string => sha(JSON.stringify(compileNode(state, node).ruleSet));
const hashOf = (state: ClusterState, node: string): string => compileNode(state, node).ruleSet.contentHash;
const upsert = (object: Obj, seq: number): FoldEvent => ({ ...eventsFromObjects([object]).events[0]!, seq });

const cluster = generateCluster(7, { pods: 1_500, nodes: 15, namespaces: 80, policies: 300 });
const events = eventsFromObjects([...cluster.namespaces, ...cluster.pods, ...cluster.policies]).events.map((e, i) => ({ ...e, seq: i + 1 }));

Same('fold, full compile, incremental compile and snapshot match the digests of the code before', () => {
  let state = emptyState('2026-01-01T00:00:00Z');
  for (let i = 0; i < events.length; i += 1_000) state = evolveAll(state, events.slice(i, i + 1_000));
  assert.equal(Object.fromEntries(nodesOf(state).map((n) => [n, digest(state, n)])), golden.before);
  const held = new Map(nodesOf(state).map((n) => [n, hashOf(state, n)]));

  // the same churn, each event compiled incrementally: affected nodes only, as the service follows
  const r = rng(8);
  let seq = events.length;
  for (let i = 0; i < 90; i++) {
    let event: FoldEvent;
    if (i % 3 === 0) {
      const pod = r.pick(cluster.pods);
      const next = withPodLabelChange(r, pod, cluster.appsByNamespace.get((pod.metadata as Md).namespace) ?? ['web']);
      cluster.pods[cluster.pods.indexOf(pod)] = next;
      event = upsert(next, ++seq);
    } else if (i % 3 === 1) {
      const policy = r.pick(cluster.policies);
      const next = withPolicyRuleEdit(r, policy);
      cluster.policies[cluster.policies.indexOf(policy)] = next;
      event = upsert(next, ++seq);
    } else {
      const { uid, namespace, name } = r.pick(cluster.pods).metadata as Md;
      event = { kind: 'Pod', op: 'delete', uid, namespace, name, seq: ++seq };
    }
    const next = evolve(state, event);
    for (const node of affectedNodes(state, next, event)) held.set(node, hashOf(next, node));
    state = next;
    // incremental equals full after every event (unaffected nodes keep their last compile: compare content)
    for (const node of nodesOf(state)) assert.is(held.get(node) ?? 'none', hashOf(state, node), `${node} after event ${i} (${event.kind})`);
  }
  const fresh = Object.fromEntries(nodesOf(state).map((n) => [n, digest(state, n)]));
  assert.equal(fresh, golden.after);
  assert.is(sha(gunzipSync(encodeSnapshot(state)).toString('utf8')), golden.snapshot);
  for (const node of nodesOf(state)) {
    const { ruleSet } = compileNode(state, node);
    assert.is(ruleSet.contentHash, contentHash(ruleSet), node);
  }
  // a snapshot decodes back into a state that compiles to the same rule sets
  const decoded = decodeSnapshot(encodeSnapshot(state), state.epoch).state;
  for (const node of nodesOf(state)) assert.is(digest(decoded, node), fresh[node], node);
});

Same.run();

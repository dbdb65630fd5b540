import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileAll, decodeEvent, emptyState, evolve, type ClusterState } from '@knp/compiler';
import { runCompiler, foldStream } from '@knp/compiler/service';
import { createLogger, loadConfig, names, type ObjectKind } from '@knp/shared';
import { DEFAULT_STREAM_SETTINGS, ensureStreams } from '@knp/shared/nats';
import { connect } from 'nats';
import { startNatsServer } from '@knp/sim';
import { allVerdicts, namespace, pod, policy, wireEvent } from '@knp/testing';

/*
 * Property names of every JavaScript object as namespace, name, uid, label key and value, port name and node
 * name, through the live pipeline: published to a real nats-server, folded by the compiler service, read
 * back by the stream fold behind live `knp explain`. The rule sets and every verdict equal those the pure
 * core computes from the same wire events (packages/compiler/test/hostile-names.test.ts holds the pure core
 * to the verdicts of innocuous names), and Object.prototype is untouched.
 */
const Live = suite('hostile names through the live pipeline');
const log = createLogger('hostile-live-test', process.env.KNP_TEST_LOG ?? 'silent');
const WORDS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'] as const;

/** One cluster holding every word in every position, next to innocuous objects that select and are selected by them. */
function hostileObjects(): unknown[] {
  const out: unknown[] = [
    namespace('alpha', { team: 'a' }),
    pod({ ns: 'alpha', name: 'client', labels: { role: 'client' }, ip: '10.0.0.1', node: 'n1' }),
    pod({ ns: 'alpha', name: 'server', labels: { role: 'server' }, ip: '10.0.0.2', node: 'n1', ports: [{ name: 'http', port: 8080 }] }),
    policy('alpha', 'server-ingress', { podSelector: { matchLabels: { role: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 'http' }] }] }),
  ];
  WORDS.forEach((w, i) => {
    const ip = (n: number): string => `10.1.${i}.${n}`;
    out.push(
      namespace(w, { team: w, [w]: w }),
      pod({ ns: w, name: 'other', labels: { role: 'client', [w]: w }, ip: ip(1), node: w }),
      pod({ ns: 'alpha', name: w, uid: w, labels: { [w]: w, role: 'server' }, ip: ip(2), node: w, ports: [{ name: w, port: 9000 }] }),
      policy('alpha', w, { podSelector: { matchLabels: { [w]: w } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: w } } }], ports: [{ port: w }] }] }),
      policy(w, w, { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: { matchLabels: { [w]: w } } }] }] }),
    );
  });
  return out;
}

const fingerprint = (): string => JSON.stringify([Object.getOwnPropertyNames(Object.prototype).sort(), Object.getOwnPropertyNames(Object).sort()]);

const verdicts = (state: ClusterState): Map<string, boolean> => allVerdicts(state, [80, 8080, 9000]);

Live('rule sets and verdicts equal the pure core\'s; Object.prototype untouched', async () => {
  const pristine = fingerprint();
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  try {
    await ensureStreams(nc, 'hl', DEFAULT_STREAM_SETTINGS);
    const values = hostileObjects().map((o) => JSON.parse(JSON.stringify(wireEvent(o))) as Record<string, unknown>);
    const js = nc.jetstream();
    let pure = emptyState();
    for (const v of values) {
      const kind = v.kind as ObjectKind;
      const ack = await js.publish(names('hl').eventSubject(kind, kind === 'Namespace' ? undefined : (v.namespace as string), v.name as string), Buffer.from(JSON.stringify(v)));
      const { event } = decodeEvent(v, ack.seq);
      if (event) pure = evolve(pure, event);
    }
    const expected = compileAll(pure);
    assert.ok(Object.keys(expected).some((n) => (WORDS as readonly string[]).includes(n)), 'some nodes are named by the words');
    const h = await runCompiler(loadConfig({ KNP_NATS_URL: nats.url, KNP_PREFIX: 'hl' }), log, { nc, settings: { heartbeatMs: 200, snapshotEveryEvents: 0, snapshotEveryMs: 0 } });
    try {
      await h.caughtUp();
      const live = new Map([...h.ruleSets()].map(([node, rs]) => [node, rs.contentHash]));
      assert.equal(new Map(Object.keys(expected).sort().map((n) => [n, expected[n]!.contentHash])), new Map([...live].sort(([a], [b]) => (a < b ? -1 : 1))));
      const rejected = h.status().input!;
      assert.ok(rejected.rejected > 0 && rejected.recentRejected.every((r) => r.seq > 0), 'invalid words are rejected, each with its sequence');
    } finally {
      await h.stop();
    }
    const folded = await foldStream(nc, 'hl', { log });
    assert.equal([...verdicts(folded.state)], [...verdicts(pure)], 'live explain gives the pure verdicts');
    assert.ok([...verdicts(pure).values()].includes(true) && [...verdicts(pure).values()].includes(false), 'the cluster is not trivial');
    assert.is(fingerprint(), pristine, 'Object.prototype untouched');
    assert.equal(['uid', 'alpha', 'n1', '__proto__x'].map((k) => ({} as Record<string, unknown>)[k]), [undefined, undefined, undefined, undefined]);
  } finally {
    await nc.close();
    await nats.stop();
  }
});

Live.run();

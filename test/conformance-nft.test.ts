import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, makeRuleSet, type RuleSet } from '@knp/shared';
import { compileAll, emptyState, eventsFromObjects, evolveAll } from '@knp/compiler';
import { Applier, nftBackend } from '@knp/node-applier';
import { NetnsCluster, type PodSpec } from '@knp/sim';
import { matrixMismatches } from '@knp/sim';

/**
 * Every conformance scenario of the compiler's table on real packets: compile the scenario's objects,
 * apply each node's rule set to that node's namespace, probe the scenario's port and protocol between
 * all matrix pods and compare with the expected matrix. Self-pairs are excluded: a pod's traffic to its
 * own IP stays on its loopback and never crosses the node. SCTP scenarios are skipped (no SCTP sockets
 * in the test kernels), as is any scenario marked compiler-only (the reason is printed).
 */
import { scenarios, scenarioObjects, NODES, type Scenario, type Pod } from '@knp/testing/conformance';

const runnable = scenarios.filter((s) => s.compilerOnly === undefined && s.protocol !== 'SCTP');
const skipped = scenarios.filter((s) => !runnable.includes(s));
for (const s of skipped) process.stdout.write(`skipped on real packets: ${s.name} (${s.compilerOnly ?? 'SCTP'})\n`);

/** The pods of a scenario's matrix with their IP and node, as the fixture places them. */
function matrixPodSpecs(scenario: Scenario): PodSpec[] {
  const objects = scenarioObjects(scenario);
  return scenario.expected.pods.map((ref) => {
    const pod = objects.find((o): o is Pod => o.kind === 'Pod' && `${o.metadata.namespace}/${o.metadata.name}` === ref);
    if (!pod?.status.podIP || !pod.spec.nodeName) throw new Error(`${scenario.name}: matrix pod ${ref} has no IP or node`);
    return { name: ref, ip: pod.status.podIP, node: pod.spec.nodeName };
  });
}

/** One fixture for all scenarios: the union of their matrix pods (a pod placed differently by two scenarios is a bug here). */
function fixturePods(): PodSpec[] {
  const byName = new Map<string, PodSpec>();
  for (const s of runnable)
    for (const p of matrixPodSpecs(s)) {
      const known = byName.get(p.name);
      if (known && (known.ip !== p.ip || known.node !== p.node)) throw new Error(`${p.name} is placed differently by two scenarios`);
      byName.set(p.name, p);
    }
  return [...byName.values()];
}

const log = createLogger('conformance-nft-test', 'silent');
const ctx = {} as { cluster: NetnsCluster; appliers: Map<string, Applier>; seq: number };
const Conformance = suite('conformance scenarios on real packets (nftables)');

Conformance.before(async () => {
  ctx.cluster = await NetnsCluster.create({ nodes: [...NODES], pods: fixturePods() });
  ctx.appliers = new Map(NODES.map((node) => [node, new Applier(nftBackend({ prefix: 'knp', netns: ctx.cluster.netnsOf(node) }), { log })]));
  ctx.seq = 0;
});
Conformance.after(async () => {
  await ctx.cluster?.destroy();
});

/** Each node's compiled rule set under a fresh increasing version (scenarios are independent states). */
function compileScenario(scenario: Scenario): Map<string, RuleSet> {
  const { events, errors } = eventsFromObjects(scenarioObjects(scenario));
  assert.equal(errors, [], 'the scenario objects parse');
  const compiled = compileAll(evolveAll(emptyState('conformance'), events));
  const seq = ++ctx.seq;
  return new Map(NODES.map((node) => {
    const rs = compiled[node];
    const content = rs ? { node, pods: rs.pods, rules: rs.rules, sets: rs.sets } : { node, pods: [], rules: [], sets: [] };
    return [node, makeRuleSet(content, { epoch: 'conformance', seq })];
  }));
}

for (const scenario of runnable)
  Conformance(scenario.name, async () => {
    for (const [node, rs] of compileScenario(scenario)) await ctx.appliers.get(node)!.apply(rs);
    const mismatches = await matrixMismatches(ctx.cluster, (from, to) => scenario.expected.isAllowed(from, to), {
      port: scenario.port,
      protocol: scenario.protocol as 'TCP' | 'UDP',
      pods: scenario.expected.pods,
    });
    assert.equal(mismatches, [], `expected (. allowed, X denied; diagonal not probed):\n${scenario.expected.render()}`);
  });

Conformance.run();

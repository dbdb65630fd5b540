import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { createLogger, makeRuleSet, type RuleSet } from '@knp/shared';
import { compileAll, emptyState, eventsFromObjects, evolveAll } from '@knp/compiler';
import { Applier, backendOf, type BackendKind } from '@knp/node-applier';
import { NetnsCluster, matrixMismatches } from '@knp/sim';
import { scenarios, scenarioObjects, NODES, type Scenario } from '@knp/testing/conformance';
import { fixturePods } from './scenario-pods.js';

/**
 * Every conformance scenario of the compiler's table on real packets with one backend: compile the
 * scenario's objects, apply each node's rule set to that node's namespace, probe the scenario's port and
 * protocol between all matrix pods and compare with the expected matrix. Self-pairs are excluded: a pod's
 * traffic to its own IP stays on its loopback and never crosses the node. SCTP scenarios are skipped (no
 * SCTP sockets in the test kernels), as is any scenario marked compiler-only (the reason is printed).
 * Each backend's test file runs this in its own process.
 */
export function runConformance(kind: BackendKind, title: string): void {
  const runnable = scenarios.filter((s) => s.compilerOnly === undefined && s.protocol !== 'SCTP');
  for (const s of scenarios.filter((s) => !runnable.includes(s))) process.stdout.write(`skipped on real packets: ${s.name} (${s.compilerOnly ?? 'SCTP'})\n`);

  const log = createLogger(`conformance-${kind}-test`, 'silent');
  const ctx = {} as { cluster: NetnsCluster; appliers: Map<string, Applier>; seq: number };
  const Conformance = suite(`conformance scenarios on real packets (${title})`);

  Conformance.before(async () => {
    ctx.cluster = await NetnsCluster.create({ nodes: [...NODES], pods: fixturePods(runnable) });
    ctx.appliers = new Map(NODES.map((node) => [node, new Applier(backendOf(kind, { prefix: 'knp', netns: ctx.cluster.netnsOf(node) }), { log })]));
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
      // everything the compiler put in the content, tier rules included; only the version is new
      const content = rs
        ? { node, pods: rs.pods, rules: rs.rules, sets: rs.sets, ...(rs.tierRules ? { tierRules: rs.tierRules } : {}) }
        : { node, pods: [], rules: [], sets: [] };
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
}

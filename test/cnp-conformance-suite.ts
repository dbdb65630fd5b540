import { suite } from '@knp/testing';
import * as assert from 'uvu/assert';
import { createLogger, makeRuleSet, type RuleSet } from '@knp/shared';
import { compileAll, compileNode, emptyState, eventsFromObjects, evolveAll, nodesOf } from '@knp/compiler';
import { Applier, backendOf, type BackendKind } from '@knp/node-applier';
import { NetnsCluster, type AddressProbe } from '@knp/sim';
import {
  CNP_MATRIX_PODS, CNP_NODES, CNP_NODE_IPS, HOST_NETWORK_PORTS, SERVED_PORTS, cnpModelObjects, cnpNetnsPods, cnpScenarios, type CnpScenario,
} from '@knp/testing/conformance';

/**
 * SIG Network's ClusterNetworkPolicy conformance table on real packets with one backend. Scenarios of one
 * upstream subtest share their objects and differ only in port and protocol, so each distinct object set
 * is compiled and applied once, and every port of it is probed in one parallel round: the 8 x 8 matrix
 * (self-pairs excluded: they never leave the pod) and the `external` probes to node addresses. The
 * cluster's node addresses are the model's (CNP_NODE_IPS), served by an agent in each node's namespace:
 * the host-network pods (centaur-0/1) of the model, whose IP is their node's, are exactly those listeners.
 * A pod's probe to its own node's address is delivered locally (input hook), so it checks that egress
 * reaches the input hook too. SCTP scenarios are compiler-only (the reason is printed).
 */
export function runCnpConformance(kind: BackendKind): void {
  const runnable = cnpScenarios.filter((s) => s.compilerOnly === undefined);
  const skipped = cnpScenarios.length - runnable.length;
  process.stdout.write(`${skipped} CNP scenarios compiler-only (${[...new Set(cnpScenarios.flatMap((s) => s.compilerOnly ?? []))].join('; ')})\n`);
  const groups = new Map<string, CnpScenario[]>();
  for (const s of runnable) {
    const key = JSON.stringify(s.policies);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }

  const log = createLogger(`cnp-conformance-${kind}-test`, 'silent');
  const ctx = {} as { cluster: NetnsCluster; appliers: Map<string, Applier>; seq: number; applyMs: number; probeMs: number };
  const Cnp = suite(`ClusterNetworkPolicy conformance on real packets (${kind})`);

  Cnp.before(async () => {
    // the node-peer subtests probe the host-network ports (TCP and UDP ones) on pods too: every pod and node serves all
    const ports = [...new Set([...SERVED_PORTS.TCP, ...SERVED_PORTS.UDP, ...HOST_NETWORK_PORTS.slice(0, 6)])];
    ctx.cluster = await NetnsCluster.create({
      nodes: [...CNP_NODES],
      pods: cnpNetnsPods().map((p) => ({ ...p, ports })),
      nodeListeners: { ports, addresses: new Map(CNP_NODES.map((n) => [n, [CNP_NODE_IPS[n]]])) },
    });
    ctx.appliers = new Map(CNP_NODES.map((node) => [node, new Applier(backendOf(kind, { prefix: 'knp', netns: ctx.cluster.netnsOf(node) }), { log })]));
    ctx.seq = 0;
    ctx.applyMs = 0;
    ctx.probeMs = 0;
  });
  Cnp.after(async () => {
    process.stdout.write(`${groups.size} object sets: applying took ${Math.round(ctx.applyMs)} ms, probing ${Math.round(ctx.probeMs)} ms\n`);
    await ctx.cluster?.destroy();
  });

  /** Each node's rule set for the model plus `policies`, under a fresh increasing version. */
  function compile(scenario: CnpScenario): Map<string, RuleSet> {
    const { events, errors } = eventsFromObjects([...cnpModelObjects(), ...scenario.policies]);
    assert.equal(errors, [], 'the scenario objects parse');
    const state = evolveAll(emptyState('cnp-conformance'), events);
    const rejected = nodesOf(state).some((node) => compileNode(state, node).rejections.length > 0);
    assert.is(rejected, scenario.failsClosed === true, 'only fail-closed scenarios have a rejected rule');
    const compiled = compileAll(state);
    const seq = ++ctx.seq;
    return new Map(CNP_NODES.map((node) => {
      const rs = compiled[node];
      const content = rs
        ? { node, pods: rs.pods, rules: rs.rules, sets: rs.sets, ...(rs.tierRules ? { tierRules: rs.tierRules } : {}) }
        : { node, pods: [], rules: [], sets: [] };
      return [node, makeRuleSet(content, { epoch: 'cnp-conformance', seq })];
    }));
  }

  type Check = AddressProbe & { readonly label: string; readonly expected: boolean };
  function checksOf(s: CnpScenario): Check[] {
    const protocol = s.protocol as 'TCP' | 'UDP';
    const pairs = CNP_MATRIX_PODS.flatMap((from) => CNP_MATRIX_PODS.filter((to) => to !== from).map((to): Check => ({
      from, ip: ctx.cluster.ipOf(to), port: s.port, protocol, expected: s.expected.isAllowed(from, to), label: `${from} -> ${to}`,
    })));
    const external = (s.external ?? []).map((e): Check => ({
      from: e.from, ip: e.ip, port: s.port, protocol, expected: e.allowed, label: `${e.from} -> ${e.to} (${e.ip})`,
    }));
    return [...pairs, ...external];
  }

  for (const scenarios of groups.values()) {
    const first = scenarios[0]!;
    const ports = scenarios.map((s) => `${s.protocol}/${s.port}`).join(', ');
    Cnp(`${first.name.replace(/ \([A-Z]+\/\d+\)$/, '')} (${ports})`, async () => {
      const ruleSets = compile(first);
      const start = performance.now();
      await Promise.all([...ruleSets].map(([node, rs]) => ctx.appliers.get(node)!.apply(rs)));
      const applied = performance.now();
      ctx.applyMs += applied - start;
      const checks = scenarios.flatMap((s) => checksOf(s).map((c) => ({ ...c, scenario: s })));
      const got = await ctx.cluster.probeAddresses(checks, 300);
      // an allowed probe that timed out on a loaded machine is tried again slowly; an unexpected pass never is
      const slow = checks.flatMap((c, i) => (!got[i] && c.expected ? [i] : []));
      const again = await ctx.cluster.probeAddresses(slow.map((i) => checks[i]!), 2_000);
      slow.forEach((i, j) => (got[i] = again[j]!));
      ctx.probeMs += performance.now() - applied;
      const wrong = checks.flatMap((c, i) => (got[i] === c.expected ? [] : [
        `${c.scenario.protocol}/${c.scenario.port} ${c.label}: expected ${c.expected ? 'allow' : 'deny'}, got ${got[i] ? 'allow' : 'deny'}`,
      ]));
      if (wrong.length > 0) assert.unreachable([`${wrong.length} wrong:`, ...wrong, 'expected (first port):', first.expected.render()].join('\n'));
    });
  }

  Cnp.run();
}

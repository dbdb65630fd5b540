import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RuleSetContent } from '@knp/shared';
import { compileAll, emptyState, eventsFromObjects, evolveAll } from '@knp/compiler';
import { NODES, Reachability, scenarioObjects, scenarios, type Pod, type Scenario } from '@knp/testing/conformance';
import { describePacket, iptablesDataplane, nftDataplane, tracePath, type Dataplane, type Packet } from '@knp/testing/trace';
import { renderIpset, renderIptables, renderNft } from '../src/index.js';

/**
 * Every conformance scenario through the exact text both backends render, traced instead of loaded: no
 * root, so it runs everywhere next to the real-kernel runs (test/conformance-{nft,iptables}.test.ts).
 * Objects -> events -> state -> each node's rule set -> rendered text -> a new packet per matrix pair,
 * through the forward hook of the source pod's node and then, when it is another, the destination's.
 * Each allowed pair's reply is traced too, as an established packet the other way. Unlike real packets
 * this covers SCTP, and the diagonal: a pod's packet to itself is traced across its node once, so the
 * rules must give the spec's answer for it too (on a real node it stays on loopback).
 */
const options = { prefix: 'knp' };
const BACKENDS: Readonly<Record<string, (ruleSet: RuleSetContent) => Dataplane>> = {
  nftables: (rs) => nftDataplane(renderNft(rs, options)),
  iptables: (rs) => iptablesDataplane({ ipset: renderIpset(rs, options), iptables: renderIptables(rs, { ...options, family: 4 }), ip6tables: renderIptables(rs, { ...options, family: 6 }) }),
};

/** A broken renderer gets most pairs wrong: the first few are listed and traced, then both matrices tell the rest. */
const SHOWN = { pairs: 5, traces: 1 };

type Compiled = { readonly ruleSets: ReadonlyMap<string, RuleSetContent>; readonly placement: ReadonlyMap<string, { ip: string; node: string }> };
const compiledCache = new Map<Scenario, Compiled>();

/** Each node's rule set (empty for a node the compiler gave none) and where each matrix pod runs; once per scenario. */
function compiled(scenario: Scenario): Compiled {
  const cached = compiledCache.get(scenario);
  if (cached) return cached;
  const objects = scenarioObjects(scenario);
  const { events, errors } = eventsFromObjects(objects);
  assert.equal(errors, [], 'the scenario objects parse');
  const byNode = compileAll(evolveAll(emptyState('conformance'), events));
  const ruleSets = new Map(NODES.map((node): [string, RuleSetContent] => [node, byNode[node] ?? { node, pods: [], rules: [], sets: [] }]));
  const placement = new Map(scenario.expected.pods.map((ref) => {
    const pod = objects.find((o): o is Pod => o.kind === 'Pod' && `${o.metadata.namespace}/${o.metadata.name}` === ref);
    const ip = pod?.status.podIP, node = pod?.spec.nodeName;
    if (ip === undefined || node === undefined || !ruleSets.has(node)) throw new Error(`${scenario.name}: matrix pod ${ref} has no IP or no model node`);
    return [ref, { ip, node }];
  }));
  const result = { ruleSets, placement };
  compiledCache.set(scenario, result);
  return result;
}

/** The client's port a reply goes to: no scenario names it, so it is the conntrack rule that lets the reply pass. */
const REPLY_PORT = 40000;
const counts = { pairs: 0, replies: 0 };
const Traced = suite('conformance scenarios traced through the rendered rules (no root)');

for (const scenario of scenarios)
  for (const [backend, load] of Object.entries(BACKENDS))
    Traced(`${backend}: ${scenario.name}`, () => {
      const { ruleSets, placement } = compiled(scenario);
      const planes = new Map([...ruleSets].map(([node, rs]) => [node, load(rs)]));
      const wrong: string[] = [], traces: string[] = [], observed = new Reachability(scenario.expected.pods, false);
      const check = (from: string, to: string, packet: Packet, want: boolean): boolean => {
        const nodes = [...new Set([placement.get(from)!.node, placement.get(to)!.node])];
        const traced = tracePath(packet, nodes.map((node) => ({ node, dataplane: planes.get(node)! })));
        if ((traced.verdict === 'allowed') === want) return want;
        wrong.push(`${from} -> ${to} (${describePacket(packet)}): expected ${want ? 'allowed' : 'dropped'}, traced ${traced.verdict}`);
        if (traces.length < SHOWN.traces) traces.push([`trace of ${from} -> ${to}:`, ...traced.steps.map((s) => `    ${s}`)].join('\n'));
        return !want;
      };
      for (const from of scenario.expected.pods)
        for (const to of scenario.expected.pods) {
          const src = placement.get(from)!.ip, dst = placement.get(to)!.ip, want = scenario.expected.isAllowed(from, to);
          counts.pairs += 1;
          observed.expect(from, to, check(from, to, { src, dst, protocol: scenario.protocol, dport: scenario.port }, want));
          if (!want) continue;
          // spec: a connection policy allows is allowed both ways; its replies pass every isolation on the path
          counts.replies += 1;
          check(to, from, { src: dst, dst: src, protocol: scenario.protocol, dport: REPLY_PORT, ct: 'established' }, true);
        }
      if (wrong.length === 0) return;
      const more = wrong.length > SHOWN.pairs ? [`... and ${wrong.length - SHOWN.pairs} more`] : [];
      assert.unreachable([`${wrong.length} packets wrong:`, ...wrong.slice(0, SHOWN.pairs), ...more, ...traces,
        'expected (. allowed, X dropped):', scenario.expected.render(), 'traced (new packets):', observed.render()].join('\n'));
    });

Traced.after(() => {
  const backends = Object.keys(BACKENDS).length;
  process.stdout.write(`\ntraced ${scenarios.length} scenarios x ${backends} backends: per backend ${counts.pairs / backends} pairs and ${counts.replies / backends} replies\n`);
});

Traced('the table holds every scenario, SCTP ones included', () => {
  assert.ok(scenarios.length >= 100, `${scenarios.length} scenarios`);
  assert.ok(scenarios.some((s) => s.protocol === 'SCTP'), 'an SCTP scenario');
});

Traced.run();

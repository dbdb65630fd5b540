import * as assert from 'uvu/assert';
import { createLogger, type AddressSet, type Family, type RuleSet } from '@knp/shared';
import { Applier, iptablesBackend, ipsetNames, ipsetSave, iptablesSave, parseIpsetSave, parseIptablesSave, planIptables } from '@knp/node-applier';
import { NetnsCluster, inNetns } from '@knp/sim';
import { localPod, peers, podsSet, rule, ruleSet, tcp, suite } from '@knp/testing';

/**
 * iptables + ipset loads are separate transactions (ipset, then iptables per family). A change of chains
 * and set members together must leave each family on one version at every step: here the ip6tables step
 * is made to fail (a host chain still jumps to a chain the new version deletes), and the kernel is read:
 * IPv4 enforces the new version entirely, IPv6 the old one entirely (its chains and the members of the sets
 * they name). Then the retry ends in exactly a fresh load of the new version, with no set left that no
 * chain uses.
 */
const PREFIX = 'knpg';
const log = createLogger('iptables-generations-test', 'silent');
const ctx = {} as { scratch: NetnsCluster; a: string; b: string };
const Generations = suite('iptables+ipset: one version per family at every step');

Generations.before(async () => {
  ctx.scratch = await NetnsCluster.create({ nodes: ['gen-a', 'gen-b'], pods: [] });
  ctx.a = ctx.scratch.netnsOf('gen-a');
  ctx.b = ctx.scratch.netnsOf('gen-b');
});
Generations.after(async () => {
  await ctx.scratch?.destroy();
});

/** v1: rules `in` (peers) and `in-x` (set x); v2: `in` only, with other peers: chains and members change together. */
function version(seq: number, peerIps: string[], withX: boolean): RuleSet {
  const sets: AddressSet[] = [podsSet('peers', peerIps), ...(withX ? [podsSet('x', ['10.3.0.1', 'fd00::31'])] : [])];
  const rules = [rule('in', 'ingress', [peers(['peers'], [tcp(80)])]), ...(withX ? [rule('in-x', 'ingress', [peers(['x'], [tcp(81)])])] : [])];
  return ruleSet({ sets, rules, pods: [localPod({ name: 'x/a', ips: ['10.1.0.11', 'fd00::11'], ingress: withX ? ['in', 'in-x'] : ['in'] })] }, seq);
}
const v1 = version(1, ['10.2.0.1', 'fd00::1'], true), v2 = version(2, ['10.2.0.2', 'fd00::2'], false);

/** What one family enforces: its chains' names, and the members of every set they reference (by planned name). */
async function enforced(netns: string, family: Family): Promise<{ chains: string[]; members: Map<string, string[]> }> {
  const saved = parseIptablesSave(await iptablesSave(family, { netns }), PREFIX);
  const sets = parseIpsetSave(await ipsetSave({ netns }), PREFIX);
  const members = new Map<string, string[]>();
  for (const line of saved.lines)
    for (const [, name] of line.matchAll(/--match-set (\S+) /g)) {
      const entries = sets.lines.filter((l) => l.startsWith(`add ${name!} `)).map((l) => l.split(' ')[2]!).sort();
      members.set(name!.replace(/-b$/, ''), entries);
    }
  return { chains: [...saved.chains].sort(), members };
}

function planned(rs: RuleSet, family: Family): { chains: string[]; members: Map<string, string[]> } {
  const plan = planIptables(rs, { prefix: PREFIX });
  const chains = plan.tables[family].chains.map((c) => c.name).sort();
  const used = new Set(plan.tables[family].chains.flatMap((c) => c.rules.flatMap((r) => [...r.matchAll(/--match-set (\S+) /g)].map((m) => m[1]!))));
  return { chains, members: new Map(plan.sets.filter((s) => used.has(s.name)).map((s) => [s.name, [...s.entries].sort()])) };
}

Generations('a failed ip6tables step leaves IPv4 on the new version and IPv6 on the old one, each whole', async () => {
  const backend = iptablesBackend({ prefix: PREFIX, netns: ctx.a });
  await backend.load(v1, undefined);
  // a host chain jumping to v1's IPv6 dispatch chain that v2 no longer has: ip6tables-restore cannot delete it
  const stale = planned(v1, 6).chains.find((c) => !planned(v2, 6).chains.includes(c))!;
  await inNetns(ctx.a, ['ip6tables', '-N', 'HOSTCHAIN']);
  await inNetns(ctx.a, ['ip6tables', '-A', 'HOSTCHAIN', '-j', stale]);
  try {
    const failed = await backend.load(v2, v1).then(() => undefined, (e: unknown) => e);
    assert.ok(failed, 'the ip6tables step must fail');
    assert.equal(await enforced(ctx.a, 4), planned(v2, 4));
    assert.equal(await enforced(ctx.a, 6), planned(v1, 6));
  } finally {
    await inNetns(ctx.a, ['ip6tables', '-F', 'HOSTCHAIN']);
    await inNetns(ctx.a, ['ip6tables', '-X', 'HOSTCHAIN']);
  }
  await backend.load(v2, undefined);
  const fresh = iptablesBackend({ prefix: PREFIX, netns: ctx.b });
  await fresh.load(v2, undefined);
  assert.is(await backend.observe(), await fresh.observe());
  await Promise.all([backend.remove(), fresh.remove()]);
});

Generations('a sequence through the Applier ends in the last version, every step whole, unused sets destroyed', async () => {
  const backend = iptablesBackend({ prefix: PREFIX, netns: ctx.a });
  const applier = new Applier(backend, { log });
  const history = [v1, version(2, ['10.2.0.1', '10.2.0.5', 'fd00::1'], true), version(3, ['10.2.0.5'], false), version(4, ['10.2.0.5', '10.2.0.6'], false), version(5, ['10.2.0.6'], true)];
  const modes: string[] = [];
  for (const rs of history) {
    const outcome = await applier.apply(rs);
    modes.push(outcome.kind === 'applied' ? outcome.mode : outcome.kind);
    for (const family of [4, 6] as const) assert.equal(await enforced(ctx.a, family), planned(rs, family), `seq ${rs.version.seq} v${family}`);
  }
  assert.equal(modes, ['full', 'delta', 'full', 'delta', 'full']);
  const fresh = iptablesBackend({ prefix: PREFIX, netns: ctx.b });
  await fresh.load(history.at(-1)!, undefined);
  assert.is(await backend.observe(), await fresh.observe());
  const ours = (await ipsetNames({ netns: ctx.a })).filter((n) => n.startsWith(`${PREFIX}-`));
  assert.is(ours.length, planIptables(history.at(-1)!, { prefix: PREFIX }).sets.length, 'one kernel set per planned set');
  await Promise.all([backend.remove(), fresh.remove()]);
});

Generations.run();

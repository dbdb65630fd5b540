import * as assert from 'uvu/assert';
import { createLogger } from '@knp/shared';
import { detectIptablesVariant, iptablesBackend, readSaveFacts, runCommand } from '@knp/node-applier';
import { NetnsCluster } from '@knp/sim';
import { localPod, peers, podsSet, rule, ruleSet, tcp, suite } from '@knp/testing';

/**
 * KNP_IPTABLES_MODE on real kernels, in network namespaces: `auto` reads what each iptables variant holds
 * and the backend then programs with the chosen client only. The nft variant is always checked; the legacy
 * one where iptables-legacy runs on this machine (otherwise: that it is seen as unusable).
 */
const PREFIX = 'knp';
const ctx = {} as { clusters: NetnsCluster[] };
const Variant = suite('iptables variant detection (real kernel)');

Variant.before(async () => {
  // the fixture makes at most two nodes per cluster: each node is a namespace of its own here
  ctx.clusters = [await NetnsCluster.create({ nodes: ['ivar-a', 'ivar-b'], pods: [] }), await NetnsCluster.create({ nodes: ['ivar-c'], pods: [] })];
});
Variant.after(async () => {
  await Promise.all((ctx.clusters ?? []).map((c) => c.destroy()));
});

const netns = (node: string): string => ctx.clusters[node === 'ivar-c' ? 1 : 0]!.netnsOf(node);
async function run(node: string, argv: string[]): Promise<string> {
  const r = await runCommand(argv, { netns: netns(node) });
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
/** Rules a host's own firewall might hold, written with one variant's client. */
async function hostRules(node: string, client: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await run(node, [client, '-w', '-A', 'INPUT', '-s', `192.0.2.${i + 1}/32`, '-j', 'ACCEPT']);
}
const legacyRuns = async (): Promise<boolean> => (await readSaveFacts('legacy', { netns: netns('ivar-a') })) !== undefined;

const sample = ruleSet({
  sets: [podsSet('peers', ['10.2.0.1'])],
  rules: [rule('in', 'ingress', [peers(['peers'], [tcp(80)])])],
  pods: [localPod({ name: 'x/a', ips: ['10.1.0.11'], ingress: ['in'] })],
}, 1);

Variant('a fresh namespace holds no rules in either variant: nft', async () => {
  const choice = await detectIptablesVariant('auto', { netns: netns('ivar-a') });
  assert.is(choice.variant, 'nft');
});

Variant('a node whose firewall is in iptables-nft: nft, and our chains land there', async () => {
  await hostRules('ivar-a', 'iptables-nft', 3);
  const nft = await readSaveFacts('nft', { netns: netns('ivar-a') });
  assert.is(nft?.rules, 3);
  const choice = await detectIptablesVariant('auto', { netns: netns('ivar-a') });
  assert.equal(choice, { variant: 'nft', reason: 'iptables-nft holds more rules (3 vs 0)' });
  const backend = iptablesBackend({ prefix: PREFIX, netns: netns('ivar-a'), mode: 'auto', log: createLogger('iptables-variant-test', 'silent') });
  await backend.load(sample, undefined);
  assert.match(await run('ivar-a', ['iptables-nft-save', '-t', 'filter']), /^-A FORWARD -j KNP-FW-/m);
  assert.ok(await backend.observe(), 'the backend reads back through the same client');
  if (await legacyRuns()) assert.not.match(await run('ivar-a', ['iptables-legacy-save']), /KNP-/);
  await backend.remove();
  assert.not.match(await run('ivar-a', ['iptables-nft-save', '-t', 'filter']), /KNP-/);
});

Variant('a node whose firewall is in iptables-legacy: legacy (or, without legacy here, nft)', async () => {
  if (!(await legacyRuns())) {
    assert.is((await detectIptablesVariant('auto', { netns: netns('ivar-b') })).variant, 'nft');
    return;
  }
  await hostRules('ivar-b', 'iptables-legacy', 4);
  const choice = await detectIptablesVariant('auto', { netns: netns('ivar-b') });
  assert.equal(choice, { variant: 'legacy', reason: 'iptables-legacy holds more rules (4 vs 0)' });
  const backend = iptablesBackend({ prefix: PREFIX, netns: netns('ivar-b'), mode: 'auto' });
  await backend.load(sample, undefined);
  assert.match(await run('ivar-b', ['iptables-legacy-save', '-t', 'filter']), /^-A FORWARD -j KNP-FW-/m);
  assert.not.match(await run('ivar-b', ['iptables-nft-save']), /KNP-/);
  await backend.remove();
  assert.not.match(await run('ivar-b', ['iptables-legacy-save', '-t', 'filter']), /KNP-/);
});

Variant('KNP_IPTABLES_MODE=nft programs iptables-nft whatever the namespace holds', async () => {
  if (await legacyRuns()) await hostRules('ivar-c', 'iptables-legacy', 12);
  const backend = iptablesBackend({ prefix: PREFIX, netns: netns('ivar-c'), mode: 'nft' });
  await backend.load(sample, undefined);
  assert.match(await run('ivar-c', ['iptables-nft-save', '-t', 'filter']), /^-A FORWARD -j KNP-FW-/m);
  await backend.remove();
});

Variant.run();

import * as assert from 'uvu/assert';
import { iptablesBackend, iptablesRestore, iptablesSave, iptTopChain, parseIptablesSave, planIptables, printIptables, renderers } from '@knp/node-applier';
import { inNetns } from '@knp/sim';
import { peers, rule } from '@knp/testing';
import { PREFIX, enforcementSuite, everything, into, ip, set, type EnforcementKernel } from './enforcement-suite.js';

/**
 * The shared enforcement cases (enforcement-suite.ts) with the iptables + ipset backend, plus what is
 * particular to it: the single FORWARD jump at the top, other components' FORWARD rules, our sets' members,
 * and the printed formats a fresh node loads.
 */
const iptables: EnforcementKernel = {
  kind: 'iptables',
  title: 'iptables + ipset',
  objects: 'chains and sets',
  written: async (netns) => `${await iptablesSave(4, { netns })}${await inNetns(netns, ['ipset', 'save'])}`.replace(/^#.*$/gm, ''),
  deleteBehindOurBack: (netns) => iptablesBackend({ prefix: PREFIX, netns }).remove(),
  addAcceptRule: async (netns) => void (await inNetns(netns, ['iptables', '-I', iptTopChain(PREFIX), '1', '-j', 'RETURN'])),
  scriptWithBadLine: async (next, netns) => {
    const facts = parseIptablesSave(await iptablesSave(4, { netns }), PREFIX);
    return printIptables(planIptables(next, { prefix: PREFIX }), 4, facts).replace(/-j RETURN\n/, '-j RETURN\n-A FORWARD -s 10.0.0.0.1 -j ACCEPT\n');
  },
  loadScript: (script, netns) => iptablesRestore(4, script, { netns }),
};

const Enforcement = enforcementSuite(iptables);
const fromXb = { sets: [set('xb', 'x/b')], rules: [rule('from-xb', 'ingress', [peers(['xb'])])] };

Enforcement('loading the same rule set again (a restarted applier) changes nothing and keeps exactly one jump at the top', async ({ fx }) => {
  const rs = (await fx.applyPolicy({ 'x/a': { ingress: ['from-xb'] } }, fromXb)).get('node-1')!;
  const netns = fx.netnsOf('node-1');
  const backend = fx.backend('node-1');
  const first = await backend.observe();
  for (let i = 0; i < 3; i++) await backend.load(rs, undefined);
  assert.is(await backend.observe(), first, 'the kernel read-back is identical');
  const forward = parseIptablesSave(await iptablesSave(4, { netns }), PREFIX);
  assert.equal(forward.jumpPositions, [1]);
  assert.equal(forward.forwardJumps, [`-j ${iptTopChain(PREFIX)}`]);
});

Enforcement('another component\'s ACCEPT in FORWARD does not bypass us, and a jump pushed down is put back on top', async ({ fx }) => {
  await fx.applyPolicy({ 'x/a': { ingress: [] } });
  const netns = fx.netnsOf('node-1');
  assert.is(await fx.appliers.get('node-1')!.reconcile(), 'in-sync', 'the reference is read before anyone touches the rules');
  await inNetns(netns, ['iptables', '-A', 'FORWARD', '-j', 'ACCEPT']);
  await fx.expectMatrix(into('x/a'), 80, 'TCP');
  await inNetns(netns, ['iptables', '-I', 'FORWARD', '1', '-d', `${ip('x/a')}/32`, '-j', 'ACCEPT']);
  await fx.expectMatrix(everything, 80, 'TCP');
  assert.is(await fx.appliers.get('node-1')!.reconcile(), 'repaired');
  assert.equal(parseIptablesSave(await iptablesSave(4, { netns }), PREFIX).jumpPositions, [1]);
  await fx.expectMatrix(into('x/a'), 80, 'TCP');
  await inNetns(netns, ['iptables', '-D', 'FORWARD', '-d', `${ip('x/a')}/32`, '-j', 'ACCEPT']);
  await inNetns(netns, ['iptables', '-D', 'FORWARD', '-j', 'ACCEPT']);
});

Enforcement('reconcile repairs a member someone added to our set', async ({ fx }) => {
  const rs = (await fx.applyPolicy({ 'x/a': { ingress: ['from-xb'] } }, fromXb)).get('node-1')!;
  const netns = fx.netnsOf('node-1');
  assert.is(await fx.appliers.get('node-1')!.reconcile(), 'in-sync');
  await inNetns(netns, ['ipset', 'add', planIptables(rs, { prefix: PREFIX }).sets[0]!.name, ip('y/b')]);
  await fx.expectMatrix((f, t) => t !== 'x/a' || f === 'x/b' || f === 'y/b', 80, 'TCP');
  assert.is(await fx.appliers.get('node-1')!.reconcile(), 'repaired');
  await fx.expectMatrix((f, t) => t !== 'x/a' || f === 'x/b', 80, 'TCP');
});

Enforcement('a fresh node loaded with the printed formats (ipset restore, iptables-restore --noflush) enforces the same', async ({ fx }) => {
  const rs = (await fx.applyPolicy({ 'x/a': { ingress: ['from-xb'] } }, fromXb)).get('node-1')!;
  const netns = fx.netnsOf('node-1');
  assert.is(await fx.appliers.get('node-1')!.reconcile(), 'in-sync');
  await fx.backend('node-1').remove();
  await inNetns(netns, ['ipset', 'restore'], renderers.get('ipset')!(rs, PREFIX));
  await inNetns(netns, ['iptables-restore', '--noflush'], renderers.get('iptables')!(rs, PREFIX));
  await fx.expectMatrix((f, t) => t !== 'x/a' || f === 'x/b', 80, 'TCP');
  await inNetns(netns, ['ipset', 'restore'], renderers.get('ipset')!(rs, PREFIX));
  assert.is(await fx.appliers.get('node-1')!.reconcile(), 'in-sync', 'the printed formats load exactly what the applier loads');
});

Enforcement.run();

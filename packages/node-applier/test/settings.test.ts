import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '@knp/shared';
import { loadKernelSettings } from '../src/kernel/select.js';
import { loadApplierSettings } from '../src/service/settings.js';

const Kernel = suite('loadKernelSettings (the applier and knp replay --apply)');
Kernel('defaults to nftables in the current network namespace', () =>
  assert.equal(loadKernelSettings({}), { backend: 'nftables', netns: undefined, iptablesMode: 'auto' }));
Kernel('iptables in a named namespace', () =>
  assert.equal(loadKernelSettings({ KNP_BACKEND: 'iptables', KNP_NETNS: 'knp-node-a' }), { backend: 'iptables', netns: 'knp-node-a', iptablesMode: 'auto' }));
Kernel('the iptables client named by the operator', () =>
  assert.is(loadKernelSettings({ KNP_BACKEND: 'iptables', KNP_IPTABLES_MODE: 'legacy' }).iptablesMode, 'legacy'));
Kernel('both bad values are listed with variable and value', () => {
  try {
    loadKernelSettings({ KNP_BACKEND: 'ebpf', KNP_NETNS: 'a b', KNP_IPTABLES_MODE: 'xtables' });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.equal((err as ConfigError).problems, ['KNP_BACKEND: "ebpf" is not nftables|iptables', 'KNP_NETNS: "a b" is not a network namespace name', 'KNP_IPTABLES_MODE: "xtables" is not auto|nft|legacy']);
  }
});
Kernel.run();

const Applier = suite('loadApplierSettings');
Applier('defaults: nftables, /var/lib/knp, 10 s heartbeat, 30 s reconcile', () => {
  const s = loadApplierSettings({ KNP_NODE_NAME: 'node-1.example' });
  assert.equal([s.node, s.kernel, s.stateDir, s.heartbeatMs, s.reconcileMs], ['node-1.example', { backend: 'nftables', netns: undefined, iptablesMode: 'auto' }, '/var/lib/knp', 10_000, 30_000]);
});
Applier('the kernel, state directory and periods are the operator\'s', () => {
  const s = loadApplierSettings({ KNP_NODE_NAME: 'n1', KNP_BACKEND: 'iptables', KNP_NETNS: 'ns1', KNP_STATE_DIR: '/tmp/knp', KNP_HEARTBEAT_S: '2', KNP_RECONCILE_S: '0' });
  assert.equal([s.kernel, s.stateDir, s.heartbeatMs, s.reconcileMs], [{ backend: 'iptables', netns: 'ns1', iptablesMode: 'auto' }, '/tmp/knp', 2_000, 0]);
});
const problemCases: Array<[what: string, env: Record<string, string>, expected: string[]]> = [
  ['a missing node name is required', {}, ['KNP_NODE_NAME: required by the applier (the node whose rules it enforces)']],
  ['a node name that is not a DNS subdomain', { KNP_NODE_NAME: 'Node_1' }, ['KNP_NODE_NAME: "Node_1" is not a Kubernetes node name (DNS subdomain)']],
  ['a relative state directory', { KNP_NODE_NAME: 'n1', KNP_STATE_DIR: 'state' }, ['KNP_STATE_DIR: "state" must be an absolute path']],
  [
    'every bad value at once, in the order of the usage text',
    { KNP_BACKEND: 'ebpf', KNP_NETNS: '$(x)', KNP_STATE_DIR: 'rel', KNP_HEARTBEAT_S: '0', KNP_RECONCILE_S: 'x' },
    ['KNP_NODE_NAME', 'KNP_BACKEND', 'KNP_NETNS', 'KNP_STATE_DIR', 'KNP_HEARTBEAT_S', 'KNP_RECONCILE_S'],
  ],
];
for (const [what, env, expected] of problemCases)
  Applier(what, () => {
    try {
      loadApplierSettings(env);
      assert.unreachable();
    } catch (err) {
      assert.instance(err, ConfigError);
      const problems = (err as ConfigError).problems;
      assert.equal(expected.every((e) => e.includes(':')) ? problems : problems.map((p) => p.split(':')[0]), expected);
    }
  });
Applier.run();

/**
 * What ClusterNetworkPolicy tier rules cost the dataplane (issue 16): the issue 3 node (110 local pods, 1,000
 * policies, 10,000 peer addresses) without and with the shape the compiler's cnp bench gives a node of its
 * 10k-pod cluster: 75 tier rules (20 admin, 55 baseline) on every local pod, over 20 more sets of which five
 * hold 8,000 addresses each (peers that select pods cluster-wide) and a few CIDRs and node addresses.
 * Render time and size, and a full load into an empty node, for each backend. Runs in a scratch network
 * namespace it removes afterwards. Prints; never asserts on time.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { makeRuleSet, type AddressSet, type RuleSet, type RuleSetContent, type TierRule } from '@knp/shared';
import { NO_KERNEL_FACTS, iptablesBackend, nftBackend, planIptables, printIpsetLoad, printIptables, renderNft, type Backend } from '../src/index.js';
import { LOCAL_PODS, PREFIX, cluster, machine, median, ms, peerIp, time } from './bench-cluster.js';

const ADMIN = 20, BASELINE = 55, WIDE_SETS = 5, WIDE = 8_000;

function withTiers(content: RuleSetContent): RuleSetContent {
  const sets: AddressSet[] = [...content.sets];
  for (let s = 0; s < WIDE_SETS; s++) sets.push({ kind: 'pods', id: `cnp-wide-${s}`, selector: `cnp-wide-${s}`, ips: Array.from({ length: WIDE }, (_, k) => peerIp((k + s * 400) % 10_000)) });
  for (let s = 0; s < 12; s++) sets.push({ kind: 'pods', id: `cnp-team-${s}`, selector: `cnp-team-${s}`, ips: Array.from({ length: 60 }, (_, k) => peerIp(s * 600 + k)) });
  sets.push({ kind: 'cidr', id: 'cnp-meta', cidr: '169.254.169.254/32', except: [] }, { kind: 'cidr', id: 'cnp-all4', cidr: '0.0.0.0/0', except: [] });
  sets.push({ kind: 'nodes', id: 'cnp-cp', selector: 'control-plane', ips: ['192.168.0.1', '192.168.0.2', '192.168.0.3'] });
  const peer = (i: number): string => (i % 4 === 0 ? `cnp-wide-${i % WIDE_SETS}` : `cnp-team-${i % 12}`);
  const tierRules: TierRule[] = [];
  const rule = (id: string, tier: 'admin' | 'baseline', i: number, direction: 'ingress' | 'egress', action: TierRule['action'], set: string): TierRule => ({
    id, direction, action, terms: [{ kind: 'peers', peers: [set], ports: i % 3 === 0 ? [{ protocol: 'TCP', port: 9090 }] : 'any' }], origin: { policy: `cnp-${i}`, tier, priority: i, rule: 0 },
  });
  for (let i = 0; i < ADMIN; i++)
    tierRules.push(i % 5 === 1 ? rule(`a-${i}`, 'admin', i, 'egress', 'Deny', i % 2 ? 'cnp-meta' : 'cnp-cp') : rule(`a-${i}`, 'admin', i, 'ingress', (['Accept', 'Deny', 'Pass'] as const)[i % 3]!, peer(i)));
  for (let i = 0; i < BASELINE; i++)
    tierRules.push(i % 6 === 5 ? rule(`b-${i}`, 'baseline', 100 + i, 'egress', i % 2 ? 'Deny' : 'Accept', i % 2 ? 'cnp-all4' : peer(i)) : rule(`b-${i}`, 'baseline', 100 + i, 'ingress', i % 2 ? 'Deny' : 'Accept', peer(i)));
  const ids = (tier: 'admin' | 'baseline', direction: string): string[] => tierRules.filter((r) => r.origin.tier === tier && r.direction === direction).map((r) => r.id);
  const pods = content.pods.map((p) => ({
    ...p,
    ingress: { ...p.ingress, admin: ids('admin', 'ingress'), baseline: ids('baseline', 'ingress') },
    egress: { ...p.egress, admin: ids('admin', 'egress'), baseline: ids('baseline', 'egress') },
  }));
  return { ...content, pods, sets, tierRules: [...tierRules].sort((a, b) => (a.id < b.id ? -1 : 1)) };
}

async function fullLoads(backend: Backend, rs: RuleSet, runs = 3): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    await backend.remove();
    xs.push((await time(() => backend.load(rs, undefined)))[0]);
  }
  await backend.remove();
  return median(xs);
}

const netns = `knpc${randomBytes(3).toString('hex')}`;
execFileSync('ip', ['netns', 'add', netns]);
try {
  const out = [`machine: ${machine()}`, `node: ${LOCAL_PODS} local pods, 1,000 policies, 10,000 peer addresses; with CNP: ${ADMIN} admin + ${BASELINE} baseline tier rules on every pod, ${WIDE_SETS} sets of ${WIDE} addresses and 15 smaller`];
  for (const [label, content] of [['without', cluster()], ['with', withTiers(cluster())]] as const) {
    const rs = makeRuleSet(content, { epoch: 'bench', seq: 1 });
    const [nftRenderMs, nftScript] = await time(() => renderNft(rs, { prefix: PREFIX }));
    const [iptRenderMs, plan] = await time(() => planIptables(rs, { prefix: PREFIX }));
    const iptScript = printIptables(plan, 4, NO_KERNEL_FACTS), ipsetScript = printIpsetLoad(plan);
    const nftMs = await fullLoads(nftBackend({ prefix: PREFIX, netns }), rs);
    const iptMs = await fullLoads(iptablesBackend({ prefix: PREFIX, netns }), rs);
    out.push(
      `${label.padEnd(7)} nftables: render ${ms(nftRenderMs)}, ${(nftScript.length / 1024).toFixed(0)} KiB; full load into an empty node ${ms(nftMs)} (median of 3)`,
      `${label.padEnd(7)} iptables: plan ${ms(iptRenderMs)}, ${iptScript.split('\n').filter((l) => l.startsWith('-A ')).length} rules, ipset ${(ipsetScript.length / 1024).toFixed(0)} KiB; full load ${ms(iptMs)} (median of 3)`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  execFileSync('ip', ['netns', 'del', netns]);
}

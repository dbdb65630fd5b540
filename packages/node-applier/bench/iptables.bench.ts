/**
 * Issue 4 benchmark: the issue 3 node (110 local pods, 1,000 policies, 10,000 peer addresses) loaded with
 * iptables + ipset; one pod-IP set change through the incremental path on both backends; and the old
 * one-rule-per-(local pod x peer x port) rendering loaded with iptables-restore, side by side.
 * Runs in a scratch network namespace it removes afterwards. Prints; never asserts on time.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createLogger, makeRuleSet, type RuleSet, type RuleSetContent } from '@knp/shared';
import { Applier, iptablesBackend, iptablesRestore, nftBackend, planIptables, printIpsetLoad, printIptables, NO_KERNEL_FACTS, type Backend } from '../src/index.js';
import { LOCAL_PODS, PEERS, POLICIES, PREFIX, cluster, machine, median, ms, time } from './bench-cluster.js';

/** The rendering knp replaces, in iptables: one rule per local pod x peer pod x port, no sets. */
function oneRulePerPeer(content: RuleSetContent): string {
  const chain = `${PREFIX.toUpperCase()}-OLD`;
  const setIps = new Map(content.sets.map((s) => [s.id, s.kind === 'pods' ? s.ips : []]));
  const rules = new Map(content.rules.map((r) => [r.id, r]));
  const lines = ['*filter', `:${chain} - [0:0]`, `-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`];
  for (const pod of content.pods)
    for (const id of pod.ingress.rules)
      for (const term of rules.get(id)!.terms)
        if (term.kind === 'peers' && term.peers !== 'any')
          for (const set of term.peers)
            for (const peer of setIps.get(set) ?? [])
              for (const port of term.ports === 'any' ? [undefined] : term.ports)
                lines.push(`-A ${chain} -d ${pod.ips[0]}/32 -s ${peer}/32${port?.port ? ` -p tcp -m tcp --dport ${port.port}${port.endPort ? `:${port.endPort}` : ''}` : ''} -j RETURN`);
  for (const pod of content.pods) lines.push(`-A ${chain} -d ${pod.ips[0]}/32 -j DROP`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** One pod-IP set change at a time through an Applier: kernel time, render + diff + kernel, and apply end to end. */
async function setChanges(backend: Backend, base: RuleSet, rounds: number): Promise<{ kernel: number[]; load: number[]; apply: number[] }> {
  const applier = new Applier(backend, { log: createLogger('bench', 'silent') });
  await applier.apply(base);
  await applier.reconcile(); // take the reference listing now, outside the measured changes
  const out = { kernel: [] as number[], load: [] as number[], apply: [] as number[] };
  for (let i = 1; i <= rounds; i++) {
    const next = makeRuleSet(cluster(PEERS + i), { epoch: 'bench', seq: base.version.seq + i });
    const [applyMs, outcome] = await time(() => applier.apply(next));
    if (outcome.kind !== 'applied' || outcome.mode !== 'delta') throw new Error(`expected a delta, got ${JSON.stringify(outcome)}`);
    out.kernel.push(outcome.kernelMs);
    out.load.push(outcome.loadMs);
    out.apply.push(applyMs);
  }
  const [reconcileMs, reconciled] = await time(() => applier.reconcile());
  process.stdout.write(`  (${backend.kind}: the reconcile after the changes: ${reconciled}, ${ms(reconcileMs)})\n`);
  return out;
}

const version = (argv: string[]): string => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }).trim().split('\n')[0]!;

const netns = `knpb${randomBytes(3).toString('hex')}`;
execFileSync('ip', ['netns', 'add', netns]);
try {
  const target = { netns };
  const base = makeRuleSet(cluster(), { epoch: 'bench', seq: 1 });
  const [renderMs, plan] = await time(() => planIptables(base, { prefix: PREFIX }));
  const ipsetScript = printIpsetLoad(plan), iptScript = printIptables(plan, 4, NO_KERNEL_FACTS);
  const iptRules = iptScript.split('\n').filter((l) => l.startsWith('-A ')).length;
  const entries = plan.sets.reduce((n, s) => n + s.entries.length, 0);

  const ipt = iptablesBackend({ prefix: PREFIX, netns });
  const fresh: number[] = [], replace: number[] = [];
  for (let i = 0; i < 5; i++) {
    await ipt.remove();
    fresh.push((await time(() => ipt.load(base, undefined)))[0]);
    replace.push((await time(() => ipt.load(base, undefined)))[0]);
  }
  const iptDelta = await setChanges(iptablesBackend({ prefix: PREFIX, netns }), base, 20);
  await ipt.remove();
  const nftDelta = await setChanges(nftBackend({ prefix: PREFIX, netns }), base, 20);
  execFileSync('ip', ['netns', 'exec', netns, 'nft', 'flush', 'ruleset']);

  const old = oneRulePerPeer(base);
  const oldRules = old.split('\n').filter((l) => l.startsWith('-A ')).length;
  const oldLoad: number[] = [];
  for (let i = 0; i < 3; i++) oldLoad.push((await time(() => iptablesRestore(4, old, target)))[0]);

  const out = [
    `machine: ${machine([version(['iptables', '--version']), version(['ipset', '--version'])])}`,
    `cluster: ${LOCAL_PODS} local pods, ${POLICIES} policies (${base.rules.length} rules), ${PEERS} peer addresses`,
    `knp iptables rendering: ${plan.sets.length} ipsets holding ${entries} entries (${(ipsetScript.length / 1024).toFixed(0)} KiB), ${iptRules} iptables rules (${(iptScript.length / 1024).toFixed(0)} KiB); plan ${ms(renderMs)}`,
    `iptables+ipset full load into an empty node (median of 5):  ${ms(median(fresh))}`,
    `iptables+ipset full load over the loaded rules (median of 5): ${ms(median(replace))}`,
    `one pod-IP set change (median of 20)        kernel     render+diff+kernel   Applier.apply end to end   (target <= 10 ms)`,
    `  iptables+ipset (one ipset restore)    ${ms(median(iptDelta.kernel)).padStart(9)}  ${ms(median(iptDelta.load)).padStart(12)}  ${ms(median(iptDelta.apply)).padStart(16)}`,
    `  nftables (one nft -i transaction)     ${ms(median(nftDelta.kernel)).padStart(9)}  ${ms(median(nftDelta.load)).padStart(12)}  ${ms(median(nftDelta.apply)).padStart(16)}`,
    `old rendering in iptables (one rule per local pod x peer x port): ${oldRules} rules, ${(old.length / 1024).toFixed(0)} KiB, iptables-restore ${ms(median(oldLoad))} (median of 3)`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  execFileSync('ip', ['netns', 'del', netns]);
}

/**
 * Issue 3 benchmark: a node with 110 local pods under 1,000 cluster policies and 10,000 peer addresses.
 * Figures: render time, full load (empty node and replacing the table), one pod-IP set change, and the
 * old one-rule-per-(local pod x peer pod x port) rendering of the same cluster loaded for comparison.
 * Runs in a scratch network namespace it removes afterwards. Prints; never asserts on time.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createLogger, makeRuleSet, type RuleSet, type RuleSetContent } from '@knp/shared';
import { Applier, nftBackend, nftLoad, renderNft } from '../src/index.js';
import { LOCAL_PODS, PEERS, POLICIES, PREFIX, cluster, machine, median, ms, time } from './bench-cluster.js';

/** The rendering knp replaces: one rule per local pod x peer pod x port, no sets. */
function renderOneRulePerPeer(content: RuleSetContent): string {
  const setIps = new Map(content.sets.map((s) => [s.id, s.kind === 'pods' ? s.ips : []]));
  const rules = new Map(content.rules.map((r) => [r.id, r]));
  const lines = [`table inet ${PREFIX}old {}`, `delete table inet ${PREFIX}old`, `table inet ${PREFIX}old {`, '\tchain fw {', '\t\ttype filter hook forward priority filter; policy accept;', '\t\tct state established,related accept'];
  for (const pod of content.pods)
    for (const id of pod.ingress.rules)
      for (const term of rules.get(id)!.terms)
        if (term.kind === 'peers' && term.peers !== 'any')
          for (const set of term.peers)
            for (const peer of setIps.get(set) ?? [])
              for (const port of term.ports === 'any' ? [undefined] : term.ports)
                lines.push(`\t\tip daddr ${pod.ips[0]} ip saddr ${peer}${port?.port ? ` tcp dport ${port.port}${port.endPort ? `-${port.endPort}` : ''}` : ''} accept`);
  for (const pod of content.pods) lines.push(`\t\tip daddr ${pod.ips[0]} drop`);
  lines.push('\t}', '}', '');
  return lines.join('\n');
}

const netns = `knpb${randomBytes(3).toString('hex')}`;
execFileSync('ip', ['netns', 'add', netns]);
try {
  const target = { netns };
  const base = makeRuleSet(cluster(), { epoch: 'bench', seq: 1 });
  const [renderMs, script] = await time(() => renderNft(base, { prefix: PREFIX }));
  const elements = base.sets.reduce((n, s) => n + (s.kind === 'pods' ? s.ips.length : 0), 0);

  const fresh: number[] = [], replace: number[] = [];
  for (let i = 0; i < 5; i++) {
    execFileSync('ip', ['netns', 'exec', netns, 'nft', 'flush', 'ruleset']);
    fresh.push((await time(() => nftLoad(script, target)))[0]);
    replace.push((await time(() => nftLoad(script, target)))[0]);
  }

  // one pod-IP set change through the applier: the backend sends only the changed element
  execFileSync('ip', ['netns', 'exec', netns, 'nft', 'flush', 'ruleset']);
  const applier = new Applier(nftBackend({ prefix: PREFIX, netns }), { log: createLogger('bench', 'silent') });
  await applier.apply(base);
  const deltaKernel: number[] = [], deltaLoad: number[] = [], deltaApply: number[] = [];
  for (let i = 1; i <= 20; i++) {
    const next: RuleSet = makeRuleSet(cluster(PEERS + i), { epoch: 'bench', seq: 1 + i });
    const [applyMs, outcome] = await time(() => applier.apply(next));
    if (outcome.kind !== 'applied' || outcome.mode !== 'delta') throw new Error(`expected a delta, got ${JSON.stringify(outcome)}`);
    deltaKernel.push(outcome.kernelMs);
    deltaLoad.push(outcome.loadMs);
    deltaApply.push(applyMs);
  }

  const old = renderOneRulePerPeer(base);
  const oldRules = old.split('\n').filter((l) => l.includes(' accept') || l.endsWith(' drop')).length;
  const oldLoad: number[] = [];
  for (let i = 0; i < 3; i++) oldLoad.push((await time(() => nftLoad(old, target)))[0]);
  const newRules = script.split('\n').filter((l) => /\b(accept|drop|jump|vmap)\b/.test(l) && !l.includes(' : ')).length;

  const out = [
    `machine: ${machine()}`,
    `cluster: ${LOCAL_PODS} local pods, ${POLICIES} policies (${base.rules.length} rules), ${PEERS} peer addresses, ${base.sets.length} pod sets holding ${elements} elements`,
    `knp rendering: ${(script.length / 1024).toFixed(0)} KiB, ${newRules} rules; render ${ms(renderMs)}`,
    `full load into an empty node (median of 5):   ${ms(median(fresh))}   (target <= 300 ms)`,
    `full load replacing the table (median of 5):  ${ms(median(replace))}`,
    `one pod-IP set change, nft transaction (median of 20): ${ms(median(deltaKernel))}   (target <= 10 ms)`,
    `one pod-IP set change, render + diff + transaction (median of 20): ${ms(median(deltaLoad))}`,
    `one pod-IP set change, Applier.apply end to end (median of 20): ${ms(median(deltaApply))}`,
    `old rendering (one rule per local pod x peer x port): ${oldRules} rules, ${(old.length / 1024).toFixed(0)} KiB, load ${ms(median(oldLoad))} (median of 3)`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  execFileSync('ip', ['netns', 'del', netns]);
}

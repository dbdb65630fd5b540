import * as assert from 'uvu/assert';
import { fingerprintNftListing, nftListTable, nftLoad, planNft, renderNft } from '@knp/node-applier';
import { NetnsCluster, inNetns } from '@knp/sim';

/**
 * The renderer against the real nft: scripts built from hostile names load (`nft -c -f`, then for real),
 * the kernel holds exactly the chains and sets we planned with only escaped comments, and loading over an
 * older table ends in the same table as loading into an empty node.
 */
import { hostileRuleSet, suite } from '@knp/testing';

const PREFIX = 'knp';
const ctx = {} as { scratch: NetnsCluster; netns: string; other: string };
const Kernel = suite('renderNft against nft 1.0.6');

Kernel.before(async () => {
  ctx.scratch = await NetnsCluster.create({ nodes: ['scratch-a', 'scratch-b'], pods: [] });
  ctx.netns = ctx.scratch.netnsOf('scratch-a');
  ctx.other = ctx.scratch.netnsOf('scratch-b');
});
Kernel.after(async () => {
  await ctx.scratch?.destroy();
});

Kernel('nft -c accepts the scripts of 40 hostile rule sets', async () => {
  for (let seed = 1; seed <= 40; seed++) {
    const script = renderNft(hostileRuleSet(seed), { prefix: PREFIX });
    await nftLoad(script, { netns: ctx.netns }, { check: true }).catch((err: unknown) => assert.unreachable(`seed ${seed}: ${String(err)}`));
  }
});

type Item = { chain?: { name: string }; set?: { name: string }; map?: { name: string }; rule?: { comment?: string }; table?: { name: string } };

Kernel('a loaded hostile rule set holds exactly the planned chains and sets, with safe comments only', async () => {
  for (const seed of [3, 11, 29]) {
    const rs = hostileRuleSet(seed);
    await nftLoad(renderNft(rs, { prefix: PREFIX }), { netns: ctx.netns });
    const items = ((await nftListTable('inet', PREFIX, { netns: ctx.netns })) as { nftables: Item[] }).nftables;
    const plan = planNft(rs, { prefix: PREFIX });
    assert.equal(items.filter((i) => i.chain).map((i) => i.chain!.name).sort(), plan.chains.map((c) => c.name).sort());
    assert.equal(items.filter((i) => i.set || i.map).map((i) => (i.set ?? i.map)!.name).sort(), plan.sets.map((s) => s.name).sort());
    assert.is(items.filter((i) => i.rule).length, plan.chains.reduce((n, c) => n + c.rules.length, 0));
    for (const i of items) if (i.rule?.comment !== undefined) assert.match(i.rule.comment, /^[A-Za-z0-9 ._/:=[\]-]*$/);
  }
});

Kernel('loading over an older table gives the same table as loading into an empty node', async () => {
  const older = renderNft(hostileRuleSet(5), { prefix: PREFIX }), newer = renderNft(hostileRuleSet(6), { prefix: PREFIX });
  await nftLoad(older, { netns: ctx.netns });
  await nftLoad(newer, { netns: ctx.netns });
  await nftLoad(`table inet ${PREFIX} {}\ndelete table inet ${PREFIX}\n`, { netns: ctx.other });
  await nftLoad(newer, { netns: ctx.other });
  const [a, b] = await Promise.all([ctx.netns, ctx.other].map((netns) => nftListTable('inet', PREFIX, { netns })));
  assert.is(fingerprintNftListing(a), fingerprintNftListing(b));
});

type Listed = Record<string, { family?: string; name?: string; table?: string }>;

/** Everything in a node's ruleset outside our table, as nft lists it (handles included: a recreated object shows). */
async function outsideOurTable(netns: string): Promise<Listed[]> {
  const listing = JSON.parse(await inNetns(netns, ['nft', '-j', 'list', 'ruleset'])) as { nftables: Listed[] };
  return listing.nftables.filter((item) => {
    const [kind, body] = Object.entries(item)[0]!;
    return kind !== 'metainfo' && !(body.family === 'inet' && (kind === 'table' ? body.name : body.table) === PREFIX);
  });
}

/** Our table's chain names, sorted; undefined when there is no table. */
async function ourChains(netns: string): Promise<string[] | undefined> {
  const listing = (await nftListTable('inet', PREFIX, { netns })) as { nftables: Item[] } | undefined;
  return listing?.nftables.filter((i) => i.chain).map((i) => i.chain!.name).sort();
}

Kernel('loading, replacing and deleting our table leave every other table exactly as it was', async () => {
  const deleteOurs = `table inet ${PREFIX} {}\ndelete table inet ${PREFIX}\n`;
  await nftLoad(deleteOurs, { netns: ctx.other });
  // another inet table with a set and a base chain, our table's name in other families, a name that starts with ours
  await nftLoad([
    'table inet other {\n\tset s {\n\t\ttype ipv4_addr\n\t\telements = { 10.9.0.1 }\n\t}\n\tchain c {\n\t\ttype filter hook forward priority 10; policy accept;\n\t\tip saddr @s accept\n\t}\n}',
    `table ip ${PREFIX} {\n\tchain c {\n\t\ttype filter hook forward priority 20; policy accept;\n\t\tip daddr 10.9.0.2 accept\n\t}\n}`,
    `table ip6 ${PREFIX} {\n\tchain c {\n\t\tip6 daddr fd00::2 accept\n\t}\n}`,
    `table inet ${PREFIX}x {\n\tchain c {\n\t\taccept\n\t}\n}`,
    '',
  ].join('\n'), { netns: ctx.other });
  const before = await outsideOurTable(ctx.other);
  assert.is(before.filter((i) => i.table).length, 4, 'the other tables are there to be left alone');
  const [older, newer] = [hostileRuleSet(8), hostileRuleSet(9)];
  const steps: Array<[step: string, script: string, chains: string[] | undefined]> = [
    ['loading into a node without our table', renderNft(older, { prefix: PREFIX }), planNft(older, { prefix: PREFIX }).chains.map((c) => c.name).sort()],
    ['replacing our table', renderNft(newer, { prefix: PREFIX }), planNft(newer, { prefix: PREFIX }).chains.map((c) => c.name).sort()],
    ['deleting our table', deleteOurs, undefined],
  ];
  for (const [step, script, chains] of steps) {
    await nftLoad(script, { netns: ctx.other });
    assert.equal(await ourChains(ctx.other), chains, `${step}: our table holds what was loaded`);
    assert.equal(await outsideOurTable(ctx.other), before, `${step} left the other tables as they were`);
  }
});

Kernel.run();

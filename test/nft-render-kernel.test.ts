import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fingerprintNftListing, nftListTable, nftLoad, planNft, renderNft } from '@knp/node-applier';
import { NetnsCluster } from '@knp/sim';

/**
 * The renderer against the real nft: scripts built from hostile names load (`nft -c -f`, then for real),
 * the kernel holds exactly the chains and sets we planned with only escaped comments, and loading over an
 * older table ends in the same table as loading into an empty node.
 */
import { hostileRuleSet } from '@knp/testing';

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

Kernel('the table leaves other tables alone', async () => {
  await nftLoad('table inet other {\n\tchain c {\n\t\taccept\n\t}\n}\n', { netns: ctx.netns });
  await nftLoad(renderNft(hostileRuleSet(8), { prefix: PREFIX }), { netns: ctx.netns });
  assert.ok(await nftListTable('inet', 'other', { netns: ctx.netns }), 'the other table is still there');
});

Kernel.run();

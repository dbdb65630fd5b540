import { nftListTable, nftLoad, renderNft } from '@knp/node-applier';
import { inNetns } from '@knp/sim';
import { PREFIX, enforcementSuite, type EnforcementKernel } from './enforcement-suite.js';

/** The shared enforcement cases (enforcement-suite.ts) with the nftables backend: our objects are one `inet` table. */
type Item = { chain?: { name: string; hook?: string }; table?: { handle: number } };
const listing = async (netns: string): Promise<Item[]> => ((await nftListTable('inet', PREFIX, { netns })) as { nftables: Item[] }).nftables;

const nftables: EnforcementKernel = {
  kind: 'nftables',
  title: 'nftables',
  objects: 'table',
  // a whole-table load replaces the table and with it the handle
  written: async (netns) => `table handle ${(await listing(netns)).find((i) => i.table)?.table?.handle}`,
  deleteBehindOurBack: async (netns) => void (await inNetns(netns, ['nft', 'delete', 'table', 'inet', PREFIX])),
  // ingress and egress are separate forward base chains: an accept opens everything only in all of them
  addAcceptRule: async (netns) => {
    for (const item of await listing(netns))
      if (item.chain?.hook === 'forward') await inNetns(netns, ['nft', 'insert', 'rule', 'inet', PREFIX, item.chain.name, 'accept']);
  },
  scriptWithBadLine: async (next) =>
    renderNft(next, { prefix: PREFIX }).replace(/ct state established,related accept/, 'ct state established,related accept\n\t\tip saddr 10.0.0.0.1 accept'),
  loadScript: (script, netns) => nftLoad(script, { netns }),
};

enforcementSuite(nftables).run();

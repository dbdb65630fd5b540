// `@knp/testing/trace`: a packet tracer over the exact text our renderers produce (nft scripts, iptables-restore
// and ipset restore input). Pure: parse strictly, load as the kernel would, follow a packet, say the verdict.
export { TraceError, describePacket, type CtState, type Packet, type TraceResult, type Verdict } from './packet.js';
export { loadNft, type NftRuleset, type NftTable, type NftChain } from './nft-load.js';
export { traceNft } from './nft-trace.js';
export { restoreIpset, ipsetTest, type Ipset, type IpsetState } from './ipset.js';
export { restoreIptables, emptyFilterTable, type IptTable, type IptChain } from './iptables-restore.js';
export { traceIptables } from './iptables-trace.js';
export { nftDataplane, iptablesDataplane, tracePath, type Dataplane, type Hop, type IptablesTexts } from './dataplane.js';

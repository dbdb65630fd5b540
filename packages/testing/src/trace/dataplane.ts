import type { Family } from '@knp/shared';
import type { Packet, TraceResult } from './packet.js';
import { loadNft } from './nft-load.js';
import { traceNft } from './nft-trace.js';
import { restoreIpset } from './ipset.js';
import { restoreIptables } from './iptables-restore.js';
import { traceIptables } from './iptables-trace.js';

/** One node's forward hook, loaded from rendered text the way the applier loads it into an empty node. */
export type Dataplane = { readonly backend: 'nftables' | 'iptables'; readonly trace: (packet: Packet) => TraceResult };

export function nftDataplane(script: string): Dataplane {
  const ruleset = loadNft(script);
  return { backend: 'nftables', trace: (packet) => traceNft(ruleset, packet) };
}

/** What the iptables backend loads, in its order: `ipset restore`, then iptables-restore and ip6tables-restore. */
export type IptablesTexts = { readonly ipset: string; readonly iptables: string; readonly ip6tables: string };

export function iptablesDataplane(texts: IptablesTexts): Dataplane {
  const ipsets = restoreIpset(texts.ipset);
  const tables = { 4: restoreIptables(texts.iptables, 4, ipsets), 6: restoreIptables(texts.ip6tables, 6, ipsets) };
  const familyOf = (packet: Packet): Family => (packet.src.includes(':') ? 6 : 4);
  return { backend: 'iptables', trace: (packet) => traceIptables(tables[familyOf(packet)], ipsets, packet) };
}

/** A node a packet crosses, with its forward hook. */
export type Hop = { readonly node: string; readonly dataplane: Dataplane };

/**
 * A packet through the forward hook of each node on its path, in order (the source pod's node, then the
 * destination's when it is another): dropped at the first node that drops it. Steps name their node.
 */
export function tracePath(packet: Packet, hops: readonly Hop[]): TraceResult {
  const steps: string[] = [];
  for (const hop of hops) {
    const result = hop.dataplane.trace(packet);
    steps.push(...result.steps.map((step) => `${hop.node}: ${step}`));
    if (result.verdict === 'dropped') return { verdict: 'dropped', steps };
  }
  return { verdict: 'allowed', steps };
}

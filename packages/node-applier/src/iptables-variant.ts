/**
 * Which iptables the host uses. iptables 1.8 comes as two clients that program two different kernel
 * subsystems: "legacy" (the x_tables API) and "nft" (nftables behind the iptables syntax). Our FORWARD jump
 * must sit in the same one as the host's own rules (kube-proxy, the CNI, the distribution's firewall), or
 * its position among them means nothing. kube-router's and Calico's images decide the same way.
 */
export type IptablesVariant = 'nft' | 'legacy';
/** KNP_IPTABLES_MODE: `auto` looks at what the host already holds; the others are the operator's word. */
export type IptablesMode = 'auto' | IptablesVariant;
export const IPTABLES_MODES: readonly IptablesMode[] = ['auto', 'nft', 'legacy'];

/** What one variant's `*-save` output (IPv4 and IPv6 together) shows. */
export type SaveFacts = {
  /** Rule lines (`-A ...`) over every table. */
  readonly rules: number;
  /** kubelet (1.17+) created its hint chain (KUBE-IPTABLES-HINT or KUBE-KUBELET-CANARY) in this variant. */
  readonly kubeletHint: boolean;
};

/** Counts the rules and looks for kubelet's hint chains in `iptables-save` text. */
export function saveFacts(text: string): SaveFacts {
  const lines = text.split('\n');
  return {
    rules: lines.filter((l) => l.startsWith('-')).length,
    kubeletHint: lines.some((l) => /^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY)\s/.test(l)),
  };
}

/** `variant` undefined: neither suffixed client runs (iptables before 1.8), so the plain `iptables-*` tools. */
export type VariantChoice = { readonly variant: IptablesVariant | undefined; readonly reason: string };

/**
 * The variant to use. `nft`/`legacy` facts are undefined when that variant's save tool could not run (not
 * installed, or a kernel without that subsystem). In `auto`: kubelet's hint chain decides first (nft looked
 * at before legacy, as iptables-wrappers does); else the variant holding more rules (iptables-wrappers' and
 * Calico's count); a tie, a fresh node included, goes to nft, the default of every current distribution.
 */
export function chooseIptablesVariant(mode: IptablesMode, nft: SaveFacts | undefined, legacy: SaveFacts | undefined): VariantChoice {
  if (mode !== 'auto') return { variant: mode, reason: `KNP_IPTABLES_MODE=${mode}` };
  if (nft?.kubeletHint) return { variant: 'nft', reason: 'kubelet\'s hint chain is in iptables-nft' };
  if (legacy?.kubeletHint) return { variant: 'legacy', reason: 'kubelet\'s hint chain is in iptables-legacy' };
  if (nft === undefined && legacy === undefined) return { variant: undefined, reason: 'neither iptables-nft nor iptables-legacy runs here: the plain iptables tools' };
  if (legacy === undefined) return { variant: 'nft', reason: 'iptables-legacy cannot run here' };
  if (nft === undefined) return { variant: 'legacy', reason: 'iptables-nft cannot run here' };
  if (legacy.rules > nft.rules) return { variant: 'legacy', reason: `iptables-legacy holds more rules (${legacy.rules} vs ${nft.rules})` };
  return { variant: 'nft', reason: nft.rules > legacy.rules ? `iptables-nft holds more rules (${nft.rules} vs ${legacy.rules})` : `both hold ${nft.rules} rules: nft, the default` };
}

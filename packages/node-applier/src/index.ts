export { renderNft, renderNftDelta, printNft } from './render-nft.js';
export { planNft, type NftPlan, type NftSetPlan, type NftChainPlan, type RenderOptions } from './nft-plan.js';
export { nftComment, RenderError } from './nft-text.js';
export { fingerprintNftListing } from './nft-fingerprint.js';
export { nftLoad, nftListTable, nftDeleteTable, runCommand, NftError, type KernelTarget } from './nft.js';
export type { Backend, LoadMode, LoadReport } from './backend.js';
export { nftBackend, type NftBackendOptions } from './nft-backend.js';
export { Applier, ApplyError, DEFAULT_RETRY, type ApplyOutcome, type ApplierOptions, type ApplierStatus, type ReconcileOutcome, type RetryPolicy } from './applier.js';
export { renderers } from './renderers.js';
export { planIptables, iptChainName, iptTopChain, IPSET_MAXELEM, type IptPlan, type IpsetPlan, type IptChainPlan, type IptFamilyPlan } from './ipt-plan.js';
export { ipsetNetEntries, printNetEntry, type NetEntry } from './ipset-entries.js';
export {
  renderIpset, renderIptables, renderIpsetDelta, printIpsetLoad, printIptables, printIptablesRemoval, printIpsetDestroy, ipsetTempName, NO_KERNEL_FACTS, type IptKernelFacts,
} from './render-iptables.js';
export { parseIptablesSave, parseIpsetSave, fingerprintIptables, type IptSaved, type IpsetSaved } from './ipt-fingerprint.js';
export { iptablesRestore, ipsetRestore, iptablesSave, ipsetSave, ipsetNames, IptablesError } from './ipt.js';
export { iptablesBackend, type IptablesBackendOptions } from './ipt-backend.js';
export { backendOf, otherKind, removeOtherBackend, switchBackend, type BackendKind, type BackendOptions } from './switch-backend.js';

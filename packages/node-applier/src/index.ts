// `@knp/node-applier`: the applier core, the pure renderers (render/) and the kernel shells (kernel/).
export type { Backend, KernelObjects, LoadMode, LoadReport } from './backend.js';
export { Applier, ApplyError, DEFAULT_RETRY, type ApplyOutcome, type ApplierOptions, type ApplierStatus, type ReconcileOutcome, type RetryPolicy } from './applier.js';

export { RenderError, type RenderOptions } from './render/common/text.js';
export { renderers, parseFormat, KERNEL_FORMATS, type KernelFormat } from './render/index.js';
export { renderNft, renderNftDelta, printNft } from './render/nft/print.js';
export { planNft, type NftPlan, type NftSetPlan, type NftChainPlan } from './render/nft/plan.js';
export { nftComment } from './render/nft/text.js';
export { fingerprintNftListing } from './render/nft/fingerprint.js';
export { planIptables, iptChainName, iptTopChain, IPSET_MAXELEM, type IptPlan, type IpsetPlan, type IptChainPlan, type IptFamilyPlan } from './render/iptables/plan.js';
export { ipsetNetEntries, printNetEntry, type NetEntry } from './render/iptables/ipset-entries.js';
export {
  renderIpset, renderIptables, renderIpsetDelta, printIpsetLoad, printIpsetFill, printIptables, printIptablesRemoval, printIpsetDestroy, ipsetTempName, NO_KERNEL_FACTS, type IptKernelFacts,
} from './render/iptables/print.js';
export { placeSets, withKernelSetNames, referencedSets, ipsetOtherName, ipsetPlannedName, type SetPlacement, type IpsetKernelFacts } from './render/iptables/generations.js';
export { parseIptablesSave, parseIpsetSave, fingerprintIptables, type IptSaved, type IpsetSaved } from './render/iptables/fingerprint.js';

export { runCommand, KernelCommandError, type KernelTarget, type RunResult } from './kernel/run.js';
export { nftLoad, nftListTable, nftDeleteTable } from './kernel/nft.js';
export { nftBackend, nftObjects, type NftBackendOptions } from './kernel/nft-backend.js';
export { NftSession } from './kernel/nft-session.js';
export { XTABLES_WAIT_S, iptablesRestore, ipsetRestore, iptablesSave, ipsetSave, ipsetNames, iptablesTool } from './kernel/ipt.js';
export { chooseIptablesVariant, saveFacts, IPTABLES_MODES, type IptablesMode, type IptablesVariant, type SaveFacts, type VariantChoice } from './iptables-variant.js';
export { detectIptablesVariant, readSaveFacts } from './kernel/detect-iptables.js';
export { iptablesBackend, iptObjects, type IptablesBackendOptions } from './kernel/ipt-backend.js';
export { backendOf, otherKind, removeOtherBackend, switchBackend, type BackendKind, type BackendOptions } from './kernel/switch-backend.js';
export { createBackend, loadKernelSettings, readKernelSettings, DEFAULT_KERNEL_SETTINGS, type KernelSettings } from './kernel/select.js';
export { KernelMemory, type Remembered } from './kernel/kernel-memory.js';

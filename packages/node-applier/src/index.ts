export { renderNft, renderNftDelta, printNft } from './render-nft.js';
export { planNft, type NftPlan, type NftSetPlan, type NftChainPlan, type RenderOptions } from './nft-plan.js';
export { nftComment, RenderError } from './nft-text.js';
export { fingerprintNftListing } from './nft-fingerprint.js';
export { nftLoad, nftListTable, nftDeleteTable, runCommand, NftError, type KernelTarget } from './nft.js';
export type { Backend, LoadMode, LoadReport } from './backend.js';
export { nftBackend, type NftBackendOptions } from './nft-backend.js';
export { Applier, ApplyError, DEFAULT_RETRY, type ApplyOutcome, type ApplierOptions, type ApplierStatus, type ReconcileOutcome, type RetryPolicy } from './applier.js';
export { renderers } from './renderers.js';

// `@knp/watcher`: Kubernetes informers -> the events stream.
export * from './trim.js';
export * from './subjects.js';
export * from './ledger.js';
export * from './watcher.js';
export * from './watcher-config.js';
export * from './watcher-status.js';
export { watcherService } from './main.js';
export { Publisher, type PublisherOptions } from './publisher.js';
export { EventSigner } from './event-signer.js';
export * from './lease.js';
export { LeaseKeeper, DEFAULT_LEASE_SETTINGS, leaseRecordOf, type LeaseSettings, type LostReason } from './lease-keeper.js';
export * from './backpressure.js';
export { listAllPages, DEFAULT_LIST_PAGE_SIZE, type ListPage } from './informers.js';
export * from './absence.js';

// `@knp/watcher`: Kubernetes informers -> the events stream.
export * from './trim.js';
export * from './subjects.js';
export * from './ledger.js';
export * from './watcher.js';
export * from './watcher-config.js';
export * from './watcher-status.js';
export { watcherService } from './main.js';
export { EventSigner } from './event-signer.js';

// streams and large messages moved to @knp/shared/nats (the rules stream uses them too); re-exported for callers
export * from '@knp/shared/nats';
export * from './trim.js';
export * from './subjects.js';
export * from './ledger.js';
export * from './status.js';
export * from './watcher.js';
export * from './watcher-config.js';
export { main } from './main.js';

export * from './large.js';
export * from './streams.js';
export * from './trim.js';
export * from './subjects.js';
export * from './ledger.js';
export * from './status.js';
export * from './watcher.js';
export * from './watcher-config.js';
export { main } from './main.js';

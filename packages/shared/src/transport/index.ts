export * from './list-delta.js';
export * from './set-content.js';
export * from './node-message.js';
export * from './node-chain.js';
export * from './parse.js';
export * from './statement.js';
export * from './set-sweep.js';
export * from './manifest.js';

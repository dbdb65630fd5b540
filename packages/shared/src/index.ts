export * from './schema.js';
export * from './canonical.js';
export * from './config.js';
export * from './names.js';
export * from './ip.js';
export * from './ruleset.js';
export * from './envelope.js';
export * from './logger.js';

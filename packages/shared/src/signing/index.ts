export * from './keys.js';
export * from './trust.js';

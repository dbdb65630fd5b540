export * from './keys.js';
export * from './trust.js';
export * from './settings.js';
export * from './event-origin.js';

export * from './keys.js';
export * from './trust.js';
export * from './settings.js';
export * from './statement.js';
export * from './admit-rule-set.js';
export * from './check-rule-set.js';
export * from './event-origin.js';

export * from './ops-server.js';
export * from './metrics.js';
export * from './received-at.js';
export * from './readiness.js';
export * from './service-ops.js';

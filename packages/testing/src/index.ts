// `@knp/testing` (private): builders and fixtures shared by the packages' tests and benchmarks.
// The conformance table is `@knp/testing/conformance`; stream histories for compiler tests `@knp/testing/history`.
export * from './cluster-builders.js';
export * from './ir-builders.js';
export * from './api-objects.js';
export * from './hostile.js';
export * from './nats-stream.js';
export * from './wait.js';
export * from './wire-event.js';
export * from './tier-builders.js';
export * from './suite.js';

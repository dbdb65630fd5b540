// `@knp/shared/nats`: the JetStream layout every service shares (streams, epoch, large messages). Kept out of
// the main entry so pure code (compiler core, renderers) never loads the NATS client.
export * from './large.js';
export * from './streams.js';

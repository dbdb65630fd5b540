// `@knp/shared/nats`: the JetStream layout every service shares (streams, epoch, large messages, status
// writes, API errors). Kept out of the main entry so pure code (compiler core, renderers) never loads the client.
export * from './errors.js';
export * from './large.js';
export * from './streams.js';
export * from './status-writer.js';
export * from './kv-keys.js';
export * from './connect.js';
export * from './rule-set-message.js';
export * from './node-transport.js';

// `@knp/sim`: a simulated cluster for the demo and the tests: a routed two-node cluster in network
// namespaces whose pods serve TCP/UDP and probe each other, a Kubernetes API stand-in, a private
// nats-server, and knp's services as child processes.
export * from './netns/cluster.js';
export * from './netns/prober.js';
export { namespacesOfProcess, strayNamespaces } from './netns/runs.js';
export * from './netns/sh.js';
export type { Probe, ProbeRequest, ProbeResponse } from './netns/agent.js';
export * from './standin/standin.js';
export * from './nats-server.js';
export * from './processes.js';
export * from './nats-cluster.js';
export * from './pipeline.js';
export type { Lease, LeaseRoute } from './standin/leases.js';

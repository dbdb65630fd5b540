// The upstream Kubernetes e2e NetworkPolicy scenarios as data: the model cluster, each scenario's objects and
// expected pod x pod matrix. Run through explain (compiler tests), traced rule text and real packets.
export * from './model.js';
export * from './reachability.js';
export * from './scenarios.js';
// SIG Network's ClusterNetworkPolicy conformance tests as data, over their own model (four houses, two nodes)
export * from './cnp-model.js';
export * from './cnp-expect.js';
export * from './cnp-build.js';
export { cnpScenarios } from './cnp-scenarios.js';

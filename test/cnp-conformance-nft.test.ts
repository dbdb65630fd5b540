// SIG Network's ClusterNetworkPolicy conformance table on real packets (cnp-conformance-suite.ts) with the nftables backend, in its own process.
import { runCnpConformance } from './cnp-conformance-suite.js';

runCnpConformance('nftables');

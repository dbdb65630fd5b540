// ClusterNetworkPolicy networks and nodes peers over IPv4 and IPv6 on real packets (cnp-dualstack-suite.ts) with the iptables backend, in its own process.
import { runCnpDualStack } from './cnp-dualstack-suite.js';

runCnpDualStack('iptables');

// The conformance scenarios on real packets (conformance-suite.ts) with the iptables + ipset backend, in its own process.
import { runConformance } from './conformance-suite.js';

runConformance('iptables', 'iptables + ipset');

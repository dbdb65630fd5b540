// The conformance scenarios on real packets (conformance-suite.ts) with the nftables backend, in its own process.
import { runConformance } from './conformance-suite.js';

runConformance('nftables', 'nftables');

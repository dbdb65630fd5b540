import { tierEnforcementSuite } from './tier-enforcement-suite.js';

tierEnforcementSuite('nftables', 'nftables');

import { tierEnforcementSuite } from './tier-enforcement-suite.js';

tierEnforcementSuite('iptables', 'iptables + ipset');

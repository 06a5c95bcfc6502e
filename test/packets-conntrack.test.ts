/**
 * Conntrack follows the mapping, with packets, on both backends
 * (test/bed/conntrack-suite.ts).
 */
import { registerConntrackSuite } from './bed/conntrack-suite.js';

registerConntrackSuite('nftables');
registerConntrackSuite('iptables');

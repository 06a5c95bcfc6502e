/**
 * Conntrack follows the mapping, with packets, on every backend
 * (test/bed/conntrack-suite.ts).
 */
import { registerConntrackSuite } from './bed/conntrack-suite.js';

registerConntrackSuite('nftables');
registerConntrackSuite('iptables');
registerConntrackSuite('iptables-nft');

/** Per-binding counters with packets, against both backends (see bed/counters-suite.ts). */
import { registerCountersSuite } from './bed/counters-suite.js';

registerCountersSuite('iptables');
registerCountersSuite('nftables');

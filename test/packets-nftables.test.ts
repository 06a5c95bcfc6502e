/**
 * The packet suite against the nftables backend: the same connections, the
 * same outcomes as against the iptables backend.
 */
import { applyWithNftablesBackend } from './bed/apply.js';
import { registerPacketSuite } from './bed/packet-suite.js';

registerPacketSuite('nftables', applyWithNftablesBackend);

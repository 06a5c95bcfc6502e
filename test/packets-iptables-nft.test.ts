/**
 * The packet suite against the iptables-nft backend: Docker's iptables rules
 * in nf_tables, the same connections and outcomes as against the other two.
 */
import { applyWithIptablesNftBackend } from './bed/apply.js';
import { registerPacketSuite } from './bed/packet-suite.js';

registerPacketSuite('iptables-nft', applyWithIptablesNftBackend);

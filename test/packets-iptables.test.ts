/**
 * The packet suite against the iptables backend (libiptc). The nftables
 * backend gets one such file, passing its own applier.
 */
import { applyWithIptablesBackend } from './bed/apply.js';
import { registerPacketSuite } from './bed/packet-suite.js';

registerPacketSuite('iptables', applyWithIptablesBackend);

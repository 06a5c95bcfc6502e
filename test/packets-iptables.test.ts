/**
 * The packet suite against the reference applier: the planner's rules loaded
 * with iptables-legacy-restore. The native iptables and nftables backends get
 * one such file each, passing their own applier.
 */
import { applyWithIptablesRestore } from './bed/apply.js';
import { registerPacketSuite } from './bed/packet-suite.js';

registerPacketSuite('iptables-restore', applyWithIptablesRestore);

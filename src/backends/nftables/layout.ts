/**
 * The nftables backend's own layout: one table per family (`ip bridgewall`,
 * `ip6 bridgewall`) with base chains at Docker's hooks and priorities, verdict
 * maps keyed by bridge name that dispatch into each network's chains, and sets
 * and maps that hold every port mapping, so publishing a port adds elements
 * and never touches a rule.
 *
 * Each name below is a fixed part of the layout; per-network chains are
 * `<role>__<bridge>`, jumped to only through the maps.
 */
import type { Family } from '../../family.js';
import { PRIORITY, type NftDatatype, type NftFamily } from '../../nft/constants.js';
import type { BaseChain, SetData } from './image.js';

export const TABLE = 'bridgewall';

export const FAMILY_TABLES: Readonly<Record<Family, NftFamily>> = { ipv4: 'ip', ipv6: 'ip6' };

/** The user's chain, Docker's DOCKER-USER: jumped to first from the forward hook, never flushed by us. */
export const USER_CHAIN = 'DOCKER-USER';

export const BASE_CHAINS = {
  /** Before conntrack: direct access to containers and loopback-bound ports from elsewhere are dropped. */
  'raw-prerouting': { type: 'filter', hook: 'prerouting', priority: PRIORITY.raw, policy: 'accept' },
  'nat-prerouting': { type: 'nat', hook: 'prerouting', priority: PRIORITY.dstnat, policy: 'accept' },
  'nat-output': { type: 'nat', hook: 'output', priority: PRIORITY.dstnat, policy: 'accept' },
  'nat-postrouting': { type: 'nat', hook: 'postrouting', priority: PRIORITY.srcnat, policy: 'accept' },
  forward: { type: 'filter', hook: 'forward', priority: PRIORITY.filter, policy: 'accept' },
} as const satisfies Record<string, BaseChain>;

/** Regular chains of the layout itself (the per-network ones are named by `networkChain`). */
export const CHAIN = {
  /** Published ports to containers, jumped to for packets addressed to the host. */
  dnat: 'nat-published',
  /** Swarm's routing mesh in the forward path (Docker's filter DOCKER-INGRESS). */
  ingressForward: 'forward-ingress',
} as const;

/** The per-network chains, each reached through the verdict map of the same role. */
export type NetworkRole =
  | 'forward-into' | 'forward-from' | 'internal-into' | 'internal-from' | 'nat-into' | 'nat-from' | 'direct-access';

export function networkChain(role: NetworkRole, bridge: string): string {
  return `${role}__${bridge}`;
}

/**
 * The sets and maps of a family's table, by role. Those a port binding puts
 * elements in count per element (`counter`), as Docker's layout counts on
 * each binding's rules: its counters are the binding's (counters.ts).
 */
export function setsOf(family: Family): Record<string, { key: readonly NftDatatype[]; data?: SetData; counter?: boolean }> {
  const address: NftDatatype = family === 'ipv4' ? 'ipv4_addr' : 'ipv6_addr';
  const verdictMap = { key: ['ifname'] as const, data: 'verdict' as const };
  return {
    // Dispatch by bridge name into the network's chains.
    'forward-into': verdictMap,
    'forward-from': verdictMap,
    'internal-into': verdictMap,
    'internal-from': verdictMap,
    'nat-into': verdictMap,
    'nat-from': verdictMap,
    /** Bridges whose replies are accepted (Docker's DOCKER-CT). */
    'conntrack-bridges': { key: ['ifname'] },
    /** Container address to its network's direct-access chain. */
    'direct-access': { key: [address], data: 'verdict' },
    /** Container address, protocol, port: forwarding accepted from outside the bridge. */
    'forward-ports': { key: [address, 'inet_proto', 'inet_service'], counter: true },
    /** Host address, protocol, port to container address and port. */
    'dnat-by-address': { key: [address, 'inet_proto', 'inet_service'], data: [address, 'inet_service'], counter: true },
    /** Protocol, port on every host address to container address and port. */
    'dnat-any-address': { key: ['inet_proto', 'inet_service'], data: [address, 'inet_service'], counter: true },
    /** Bridge, host address, protocol, port: left to the userland proxy when it comes from the container's own bridge. */
    'dnat-skip-by-address': { key: ['ifname', address, 'inet_proto', 'inet_service'] },
    'dnat-skip-any-address': { key: ['ifname', 'inet_proto', 'inet_service'] },
    /** Container address twice, protocol, port: a container reaching its own published port is masqueraded. */
    'hairpin-masquerade': { key: [address, address, 'inet_proto', 'inet_service'], counter: true },
    /** Loopback host address, protocol, port: published on loopback only, dropped from other interfaces. */
    'loopback-ports': { key: [address, 'inet_proto', 'inet_service'], counter: true },
  };
}

/** Swarm's ingress ports (protocol, port), IPv4 only. */
export const INGRESS_SET = 'ingress-ports';
export const INGRESS_SET_KEY: readonly NftDatatype[] = ['inet_proto', 'inet_service'];

/**
 * The IP protocols bridgewall's rules name, defined once for every layer:
 * the spec's port protocols, the nftables expressions and listings, the
 * libiptc entries and the conntrack filters.
 */

/** The protocols with ports, as Docker maps them; a packed port's protocol code is its index here. */
export const PORT_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

/** IPPROTO_* (netinet/in.h): the numbers the kernel stores, by the names nft and iptables print. */
export const PROTOCOL_NUMBERS = { tcp: 6, udp: 17, sctp: 132, icmp: 1, 'ipv6-icmp': 58 } as const;

const PROTOCOL_NAMES = new Map<number, string>(Object.entries(PROTOCOL_NUMBERS).map(([name, number]) => [number, name]));

/** `tcp` for 6: how nft and iptables name a protocol number (the number itself when it has no name here). */
export function protocolName(number: number): string {
  return PROTOCOL_NAMES.get(number) ?? String(number);
}

/**
 * The two address families every layer speaks of: the spec, the Docker
 * model, both backends and the low-level APIs. The kernel's own family
 * numbers (NFPROTO_*) stay with the nftables constants.
 */
export type Family = 'ipv4' | 'ipv6';

/** Both families, IPv4 first: the order rules are planned, committed and printed in. */
export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

/** How people write them. */
export const FAMILY_NAMES: Readonly<Record<Family, string>> = { ipv4: 'IPv4', ipv6: 'IPv6' };

/**
 * Kernel constants of nf_tables (linux/netfilter/nf_tables.h and friends) and
 * the datatype numbers nft uses in set declarations, by name.
 */

export const NFPROTO = { inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 } as const;
export type NftFamily = keyof typeof NFPROTO;

export const HOOK = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 } as const;
export type NftHook = keyof typeof HOOK;

/** Standard chain priorities by name, as nft spells them. */
export const PRIORITY = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 } as const;

export const POLICY = { drop: 0, accept: 1 } as const;
export type NftPolicy = keyof typeof POLICY;

export const VERDICT = { drop: 0, accept: 1, continue: -1, break: -2, jump: -3, goto: -4, return: -5 } as const;

/** NFT_REG_VERDICT and the 32-bit data registers (NFT_REG32_00 = 8 ...). */
export const REG_VERDICT = 0;
export const REG32 = (n: number): number => 8 + n;

export const META = { len: 0, protocol: 1, mark: 3, iif: 4, oif: 5, iifname: 6, oifname: 7, nfproto: 15, l4proto: 16 } as const;
export const PAYLOAD_BASE = { link: 0, network: 1, transport: 2 } as const;
export const CMP = { eq: 0, neq: 1, lt: 2, lte: 3, gt: 4, gte: 5 } as const;
export const CT_KEY = { state: 0, direction: 1, status: 2, mark: 3 } as const;
export const CT_STATE = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 } as const;
export type CtState = keyof typeof CT_STATE;
export const FIB_FLAGS = { saddr: 1, daddr: 2, mark: 4, iif: 8, oif: 16, present: 32 } as const;
export const FIB_RESULT = { oif: 1, oifname: 2, addrtype: 3 } as const;
/** Route types (linux/rtnetlink.h), compared by `fib ... type`. */
export const RTN = { unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5 } as const;
export const NAT_TYPE = { snat: 0, dnat: 1 } as const;
/** NF_NAT_RANGE_* flags. */
export const NAT_RANGE = { mapIps: 1, protoSpecified: 2, protoRandom: 4, persistent: 8, protoRandomFully: 16 } as const;
export const LOOKUP_INVERT = 1;

export const SET_FLAG = {
  anonymous: 0x1, constant: 0x2, interval: 0x4, map: 0x8, timeout: 0x10, eval: 0x20, object: 0x40, concat: 0x80,
} as const;

/** nft's datatype numbers for set keys and map data; concatenations combine them. */
export const DATATYPE = {
  verdict: 1, integer: 4, string: 5, ipv4_addr: 7, ipv6_addr: 8, inet_proto: 12, inet_service: 13, mark: 19,
  ifname: 41,
} as const;
export type NftDatatype = keyof typeof DATATYPE;
/** Map data type of verdict maps (NFT_DATA_VERDICT). */
export const DATA_VERDICT = 0xffffff00;

/** Byte length of one value of each datatype as stored in a set key. */
export const DATATYPE_LEN: Record<NftDatatype, number> = {
  verdict: 4, integer: 4, string: 16, ipv4_addr: 4, ipv6_addr: 16, inet_proto: 1, inet_service: 2, mark: 4, ifname: 16,
};

export const IFNAMSIZ = 16;
/** NFT_NAME_MAXLEN includes the terminating NUL. */
export const NAME_MAXLEN = 255;

/**
 * bridgewall: Docker's bridge-network firewall rules for Node.js, programmed
 * into netfilter through a native addon. The raw addon is not exported.
 */
export { NetfilterError, ValidationError, type NetfilterErrorCode } from './errors';
export * from './nft';
export * from './iptc';
export { formatAddress, parseAddress, parsePrefix, type AddressFamily, type Prefix } from './address';
export type { Spec, SpecInput } from './spec/types';
export { parseSpec } from './spec/validate';

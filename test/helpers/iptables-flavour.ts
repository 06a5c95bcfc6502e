/**
 * The host's own tools for the rules of either iptables backend: legacy
 * x_tables (`iptables`) or nf_tables as iptables-nft keeps them
 * (`iptables-nft`). Both backends write the same rules, so a test that reads
 * them back runs on both by naming the tool through these.
 */
import type { FirewallBackend } from '../../src/spec/types.js';

export type IptablesFlavour = Exclude<FirewallBackend, 'nftables'>;

export const IPTABLES_FLAVOURS: readonly IptablesFlavour[] = ['iptables', 'iptables-nft'];

/** Whether the backend writes Docker's iptables rules (either flavour). */
export function isIptables(backend: FirewallBackend): backend is IptablesFlavour {
  return backend !== 'nftables';
}

/** `iptables-legacy`, `ip6tables-nft`, ...: the command for the family's rules of the flavour. */
export function iptablesTool(flavour: IptablesFlavour, family: 'ipv4' | 'ipv6'): string {
  return `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${flavour === 'iptables' ? 'legacy' : 'nft'}`;
}

/** `iptables-legacy-save`, `ip6tables-nft-save`, ...: the save tool for the family's rules of the flavour. */
export function saveTool(flavour: IptablesFlavour, family: 'ipv4' | 'ipv6'): string {
  return `${iptablesTool(flavour, family)}-save`;
}

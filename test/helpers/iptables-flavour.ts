/**
 * The host's own tools for the rules of either iptables backend: legacy
 * x_tables (`iptables`) or nf_tables as iptables-nft keeps them
 * (`iptables-nft`). Both backends write the same rules, so a test that reads
 * them back runs on both by naming the tool through these.
 */
import { IPTABLES_FLAVOURS, type IptablesFlavour } from '../../src/backends/iptables/owner-record.js';
import type { Family } from '../../src/family.js';
import type { FirewallBackend } from '../../src/input/types.js';
import { systemTool } from '../../src/sandbox/tools.js';
import { normaliseSave, type TestNetns } from './netns.js';

export { IPTABLES_FLAVOURS, type IptablesFlavour };

/** Whether the backend writes Docker's iptables rules (either flavour). */
export function isIptables(backend: FirewallBackend): backend is IptablesFlavour {
  return backend !== 'nftables';
}

/** `iptables-legacy`, `ip6tables-nft`, ...: the command for the family's rules of the flavour. */
export function iptablesTool(flavour: IptablesFlavour, family: Family): string {
  return `${family === 'ipv4' ? 'iptables' : 'ip6tables'}-${flavour === 'iptables' ? 'legacy' : 'nft'}`;
}

/** `iptables-legacy-save`, `ip6tables-nft-save`, ...: the save tool for the family's rules of the flavour. */
export function saveTool(flavour: IptablesFlavour, family: Family): string {
  return `${iptablesTool(flavour, family)}-save`;
}

/**
 * A namespace's iptables tables as Docker's goldens hold them: raw, filter
 * and nat, in that order, as the flavour's save tool prints them, without
 * comment lines and with counters zeroed. Naming a table prints it, if empty,
 * as Docker's goldens print it (legacy: opening it creates it).
 */
export async function savedTables(ns: TestNetns, family: Family = 'ipv4', flavour: IptablesFlavour = 'iptables'): Promise<string> {
  const tool = systemTool(saveTool(flavour, family));
  return normaliseSave(await ns.run('sh', '-c', ['raw', 'filter', 'nat'].map((table) => `${tool} -t ${table}`).join(' && ')));
}

/** The legacy tables that exist in the namespace, both families, as the kernel lists them (reading creates none). */
export async function legacyTables(ns: TestNetns): Promise<string> {
  return ns.run('sh', '-c', 'cat /proc/net/ip_tables_names /proc/net/ip6_tables_names 2>/dev/null; true');
}

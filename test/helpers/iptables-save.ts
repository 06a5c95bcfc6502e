/**
 * A namespace's iptables tables as Docker's goldens hold them: raw, filter
 * and nat, in that order, as ip(6)tables-legacy-save (or, for the
 * iptables-nft flavour, ip(6)tables-nft-save) prints them, without comment
 * lines and with counters zeroed. Naming a table prints it, if empty, as
 * Docker's goldens print it (legacy: opening it creates it).
 */
import { systemTool } from '../../src/sandbox/tools.js';
import { normaliseSave, type TestNetns } from './netns.js';

export async function savedTables(ns: TestNetns, family: 'ipv4' | 'ipv6' = 'ipv4', flavour: 'iptables' | 'iptables-nft' = 'iptables'): Promise<string> {
  const kind = flavour === 'iptables' ? 'legacy' : 'nft';
  const tool = systemTool(family === 'ipv4' ? `iptables-${kind}-save` : `ip6tables-${kind}-save`);
  return normaliseSave(await ns.run('sh', '-c', ['raw', 'filter', 'nat'].map((table) => `${tool} -t ${table}`).join(' && ')));
}

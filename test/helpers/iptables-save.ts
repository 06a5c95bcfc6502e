/**
 * A namespace's legacy tables as Docker's goldens hold them: raw, filter and
 * nat, in that order, as ip(6)tables-legacy-save prints them, without comment
 * lines and with counters zeroed. Naming a table opens it, so each of the
 * three is printed, if empty, as Docker's goldens print it.
 */
import { normaliseSave, systemTool, type TestNetns } from './netns.js';

export async function savedTables(ns: TestNetns, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<string> {
  const tool = systemTool(family === 'ipv4' ? 'iptables-legacy-save' : 'ip6tables-legacy-save');
  return normaliseSave(await ns.run('sh', '-c', ['raw', 'filter', 'nat'].map((table) => `${tool} -t ${table}`).join(' && ')));
}

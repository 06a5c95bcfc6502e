/**
 * The tables and base chains iptables-nft 1.8.9 creates for the iptables
 * tables: in the `ip` / `ip6` family, named as iptables names them, each
 * built-in chain a base chain of the hook it is named after, at its table's
 * priority, policy accept; table.ts creates those a change needs that are missing.
 */
import { BUILTIN_CHAINS } from '../iptc/format';
import type { Family } from '../family';
import type { IptTableName } from '../iptc/rule';
import type { ChainSpec } from '../nft/batch';
import { type NftFamily, type NftHook, PRIORITY } from '../nft/constants';

export const IPTNFT_FAMILY: Readonly<Record<Family, NftFamily>> = { ipv4: 'ip', ipv6: 'ip6' };

/** The base chains of `table` as NftBatch.addChain takes them, in iptables-save's order. */
export function iptnftBaseChains(family: Family, table: IptTableName): ChainSpec[] {
  return BUILTIN_CHAINS[table].map((name) => {
    const hook = name.toLowerCase() as NftHook;
    return {
      family: IPTNFT_FAMILY[family], table, name, hook, priority: priority(table, hook), type: chainType(table, hook), policy: 'accept',
    };
  });
}

/** nat's chains take the NAT priorities: destination NAT before routing, source NAT after it. */
function priority(table: IptTableName, hook: NftHook): number {
  if (table !== 'nat') return PRIORITY[table];
  return hook === 'prerouting' || hook === 'output' ? PRIORITY.dstnat : PRIORITY.srcnat;
}

/** mangle's OUTPUT reroutes a packet whose mark or addresses it changed. */
function chainType(table: IptTableName, hook: NftHook): 'filter' | 'nat' | 'route' {
  if (table === 'nat') return 'nat';
  return table === 'mangle' && hook === 'output' ? 'route' : 'filter';
}

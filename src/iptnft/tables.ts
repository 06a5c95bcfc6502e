/**
 * The tables and base chains iptables-nft 1.8.9 creates for the iptables
 * tables: in the `ip` / `ip6` family, named as iptables names them, each
 * built-in chain a base chain of its hook at the table's priority, policy
 * accept. Not used by the product yet (see ./encode.ts).
 */
import type { ChainSpec } from '../nft/batch';
import { type NftFamily, type NftHook, PRIORITY } from '../nft/constants';
import type { IptFamily, IptTableName } from '../iptc/rule';

export const IPTNFT_FAMILY: Readonly<Record<IptFamily, NftFamily>> = { ipv4: 'ip', ipv6: 'ip6' };

interface BaseChain {
  name: string;
  hook: NftHook;
  priority: number;
  type: 'filter' | 'nat' | 'route';
}

/** In iptables-save's order (src/iptc/format.ts BUILTIN_CHAINS). */
const BASE_CHAINS: Readonly<Record<IptTableName, readonly BaseChain[]>> = {
  raw: [
    { name: 'PREROUTING', hook: 'prerouting', priority: PRIORITY.raw, type: 'filter' },
    { name: 'OUTPUT', hook: 'output', priority: PRIORITY.raw, type: 'filter' },
  ],
  mangle: [
    { name: 'PREROUTING', hook: 'prerouting', priority: PRIORITY.mangle, type: 'filter' },
    { name: 'INPUT', hook: 'input', priority: PRIORITY.mangle, type: 'filter' },
    { name: 'FORWARD', hook: 'forward', priority: PRIORITY.mangle, type: 'filter' },
    { name: 'OUTPUT', hook: 'output', priority: PRIORITY.mangle, type: 'route' },
    { name: 'POSTROUTING', hook: 'postrouting', priority: PRIORITY.mangle, type: 'filter' },
  ],
  filter: [
    { name: 'INPUT', hook: 'input', priority: PRIORITY.filter, type: 'filter' },
    { name: 'FORWARD', hook: 'forward', priority: PRIORITY.filter, type: 'filter' },
    { name: 'OUTPUT', hook: 'output', priority: PRIORITY.filter, type: 'filter' },
  ],
  nat: [
    { name: 'PREROUTING', hook: 'prerouting', priority: PRIORITY.dstnat, type: 'nat' },
    { name: 'INPUT', hook: 'input', priority: PRIORITY.srcnat, type: 'nat' },
    { name: 'OUTPUT', hook: 'output', priority: PRIORITY.dstnat, type: 'nat' },
    { name: 'POSTROUTING', hook: 'postrouting', priority: PRIORITY.srcnat, type: 'nat' },
  ],
};

/** The base chains of `table` as NftBatch.addChain takes them. */
export function iptnftBaseChains(family: IptFamily, table: IptTableName): ChainSpec[] {
  return BASE_CHAINS[table].map((chain) => ({ family: IPTNFT_FAMILY[family], table, ...chain, policy: 'accept' }));
}

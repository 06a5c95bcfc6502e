/**
 * Filter FORWARD chains of other managers that drop what the nftables
 * backend accepts. An accept in our forward chain ends only our chain: the
 * packet still meets every other base chain at the forward hook, so a policy
 * DROP there (Docker sets one on the iptables FORWARD chain when it turns
 * forwarding on; many host firewalls do too) silently drops published ports.
 * Docker's nftables backend warns about exactly this (moby
 * daemon/libnetwork/drivers/bridge/internal/iptabler/cleaner.go: "Network
 * traffic for published ports may be dropped, iptables chain FORWARD has
 * policy DROP."); so do we, naming the chain and the fix. Read are: every
 * other nftables table with a forward base chain (iptables-nft's `filter`
 * included) and the legacy filter table, only if it exists (opening it would
 * create it).
 */
import type { FirewallModel } from '../../docker/model.js';
import { ruleText } from '../../iptc/rule-text.js';
import { FAMILIES, type Family } from '../../family.js';
import type { IptcTable } from '../../iptc/table.js';
import { HOOK, POLICY, type NftFamily } from '../../nft/constants.js';
import type { NftConnection } from '../../nft/connection.js';
import type { Warning } from '../../warnings.js';
import { FAMILY_TABLES, TABLE, USER_CHAIN } from './layout.js';

const NFT_FAMILIES: Readonly<Record<string, readonly Family[]>> = { ip: ['ipv4'], ip6: ['ipv6'], inet: FAMILIES };
const IPTABLES: Record<Family, string> = { ipv4: 'iptables', ipv6: 'ip6tables' };
const MESSAGE = 'Network traffic for published ports may be dropped';

export async function foreignForwardDrops(connection: NftConnection, legacy: IptcTable, model: FirewallModel): Promise<Warning[]> {
  const bridges = new Map(model.families.map((family) => [family.family, family.networks.map((network) => network.bridge)]));
  const concerned = (families: readonly Family[]) => families.filter((family) => (bridges.get(family) ?? []).length > 0);
  const warnings: Warning[] = [];
  for (const info of await connection.listTables()) {
    const families = concerned(NFT_FAMILIES[info.family] ?? []);
    if (families.length === 0 || (info.name === TABLE && Object.values(FAMILY_TABLES).includes(info.family))) continue;
    const state = await connection.readTable(info.family, info.name);
    const userChain = state.chains.some((chain) => chain.name === USER_CHAIN);
    for (const chain of state.chains) {
      if (chain.hook !== HOOK.forward || chain.policy !== POLICY.drop) continue;
      warnings.push({ code: 'WFORWARDDROP', message: nftMessage(info.family, info.name, chain.name, userChain, families, bridges) });
    }
  }
  for (const family of concerned(FAMILIES)) {
    if (!(await legacy.existingTables(family)).includes('filter')) continue;
    const chains = await legacy.read(family, 'filter');
    const forward = chains.find((chain) => chain.name === 'FORWARD');
    const dropsAll = forward?.rules.some((entry) => entry.rule && ruleText(family, entry.rule) === '-j DROP');
    if (forward?.policy !== 'DROP' && !dropsAll) continue;
    const tool = `${IPTABLES[family]}-legacy`;
    const chain = chains.some((c) => c.name === USER_CHAIN) ? USER_CHAIN : 'FORWARD';
    warnings.push({
      code: 'WFORWARDDROP',
      message: `${MESSAGE}, ${tool} chain FORWARD ${forward?.policy === 'DROP' ? 'has policy DROP' : 'drops every packet (-j DROP)'}. ` +
        `Accept the networks' traffic there: ${iptablesFix(tool, chain, bridges.get(family)!)}`,
    });
  }
  return warnings;
}

function nftMessage(
  family: NftFamily, table: string, chain: string, userChain: boolean, families: readonly Family[], bridges: Map<Family, string[]>,
): string {
  const all = [...new Set(families.flatMap((f) => bridges.get(f)!))];
  // iptables-nft keeps the filter table's chains under their iptables names.
  if ((family === 'ip' || family === 'ip6') && table === 'filter' && chain === 'FORWARD') {
    const tool = IPTABLES[families[0]!];
    return `${MESSAGE}, ${tool} (nf_tables) chain FORWARD has policy DROP. ` +
      `Accept the networks' traffic there: ${iptablesFix(tool, userChain ? USER_CHAIN : 'FORWARD', all)}`;
  }
  const rules = all.flatMap((bridge) => [`nft insert rule ${family} ${table} ${chain} iifname "${bridge}" accept`, `nft insert rule ${family} ${table} ${chain} oifname "${bridge}" accept`]);
  return `${MESSAGE}, nftables chain ${family} ${table} ${chain} (hook forward) has policy drop. Accept the networks' traffic there: ${rules.join('; ')}`;
}

/** Rules that leave the networks' traffic to bridgewall's own chains, which decide what passes. */
function iptablesFix(tool: string, chain: string, bridges: readonly string[]): string {
  return bridges.flatMap((bridge) => [`${tool} -I ${chain} -i ${bridge} -j ACCEPT`, `${tool} -I ${chain} -o ${bridge} -j ACCEPT`]).join('; ');
}

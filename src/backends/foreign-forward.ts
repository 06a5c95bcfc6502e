/**
 * Filter FORWARD chains of other managers that drop what a backend accepts.
 * An accept in our forward chain ends only our chain: the
 * packet still meets every other base chain at the forward hook, so a policy
 * DROP there (Docker sets one on the iptables FORWARD chain when it turns
 * forwarding on; many host firewalls do too) silently drops published ports.
 * Docker's nftables backend warns about exactly this (moby
 * daemon/libnetwork/drivers/bridge/internal/iptabler/cleaner.go: "Network
 * traffic for published ports may be dropped, iptables chain FORWARD has
 * policy DROP."); so do we, for every backend, naming the chain and the
 * fix. Read are: every nftables table with a forward base chain that is not
 * the backend's own (iptables-nft's `filter` is the iptables-nft backend's)
 * and, unless it is the backend's own, the legacy filter table, only if it
 * exists (opening it would create it).
 */
import type { FirewallModel } from '../docker/model.js';
import { ruleText } from '../iptc/rule-text.js';
import { FAMILIES, type Family } from '../family.js';
import { HOOK, POLICY, type NftFamily } from '../nft/constants.js';
import type { Warning } from '../warnings.js';
import type { ApplyOutcome } from './backend.js';
import { NftConnection } from '../nft/connection.js';
import { IptcTable } from '../iptc/table.js';
import { CHAIN } from '../docker/iptables/rules.js';

const NFT_FAMILIES: Readonly<Record<string, readonly Family[]>> = { ip: ['ipv4'], ip6: ['ipv6'], inet: FAMILIES };
const IPTABLES: Record<Family, string> = { ipv4: 'iptables', ipv6: 'ip6tables' };
const MESSAGE = 'Network traffic for published ports may be dropped';

/** What a backend's own forward chains are: those it programs itself, never warned of. */
export interface OwnForward {
  /** Whether the nftables table is the backend's. */
  nftTable(family: NftFamily, table: string): boolean;
  /** Whether the legacy filter FORWARD chain is the backend's (the legacy iptables backend's). */
  legacy: boolean;
}

/** The user's chain, where a fix goes when it exists: DOCKER-USER, in every backend. */
const USER_CHAIN = CHAIN.user;

/**
 * Reads the other managers' forward chains for a backend, on handles of its
 * own (opened on first use) or on the backend's.
 */
export class ForeignForward {
  private handles: Promise<{ connection: NftConnection; legacy: IptcTable; opened: boolean }> | undefined;

  constructor(
    private readonly own: OwnForward,
    private readonly netns: string,
    shared?: { connection: NftConnection; legacy: IptcTable },
  ) {
    if (shared) this.handles = Promise.resolve({ ...shared, opened: false });
  }

  /**
   * `outcome` with a WFORWARDDROP for each foreign forward chain that drops
   * what `model` accepts. The commit stands whatever the look meets (a table
   * gone meanwhile, say): a failure is itself a warning.
   */
  async withWarnings(outcome: ApplyOutcome, model: FirewallModel): Promise<ApplyOutcome> {
    const warnings = await this.read(model).catch((error: unknown) =>
      [{ code: 'WFORWARDDROP' as const, message: `Could not check other managers' forward chains for drops: ${(error as Error).message}` }]);
    return warnings.length === 0 ? outcome : { ...outcome, warnings: [...(outcome.warnings ?? []), ...warnings] };
  }

  private async read(model: FirewallModel): Promise<Warning[]> {
    this.handles ??= this.open();
    const { connection, legacy } = await this.handles;
    return foreignForwardDrops(connection, legacy, model, this.own);
  }

  private async open(): Promise<{ connection: NftConnection; legacy: IptcTable; opened: boolean }> {
    const netns = this.netns === '' ? {} : { netns: this.netns };
    const connection = await NftConnection.open(netns);
    try {
      return { connection, legacy: await IptcTable.open(netns), opened: true };
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  /** Closes the handles it opened itself. */
  close(): void {
    const handles = this.handles;
    this.handles = undefined;
    void handles?.then((h) => {
      if (!h.opened) return;
      h.connection.close();
      h.legacy.close();
    }, () => undefined);
  }
}

async function foreignForwardDrops(connection: NftConnection, legacy: IptcTable, model: FirewallModel, own: OwnForward): Promise<Warning[]> {
  const bridges = new Map(model.families.map((family) => [family.family, family.networks.map((network) => network.bridge)]));
  const concerned = (families: readonly Family[]) => families.filter((family) => (bridges.get(family) ?? []).length > 0);
  const warnings: Warning[] = [];
  for (const info of await connection.listTables()) {
    const families = concerned(NFT_FAMILIES[info.family] ?? []);
    if (families.length === 0 || own.nftTable(info.family, info.name)) continue;
    const state = await connection.readTable(info.family, info.name);
    const userChain = state.chains.some((chain) => chain.name === USER_CHAIN);
    for (const chain of state.chains) {
      if (chain.hook !== HOOK.forward || chain.policy !== POLICY.drop) continue;
      warnings.push({ code: 'WFORWARDDROP', message: nftMessage(info.family, info.name, chain.name, userChain, families, bridges) });
    }
  }
  for (const family of own.legacy ? [] : concerned(FAMILIES)) {
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

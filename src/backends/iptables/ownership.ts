/**
 * Which rules and chains in a namespace's iptables tables are bridgewall's.
 *
 * Docker's rules carry no marker (ours must read exactly like Docker's), and a
 * Docker daemon in the same namespace writes the very same rules for its own
 * bridges, so a rule's shape cannot tell whose it is. What bridgewall has
 * programmed is therefore recorded outside the kernel (see owner-record.ts),
 * as facts a rule can be attributed by:
 * - the networks, by bridge and subnet: a rule naming the bridge (`-i`/`-o`),
 *   or a container address of the subnet (a DNAT's `--to-destination`, a
 *   hairpin masquerade's `-s`), belongs to its network;
 * - the loopback-bound published ports' raw drops, the one rule naming
 *   neither (`-d 127.0.0.1/32 ! -i lo ... -j DROP`), by text;
 * - the swarm ingress (its chains, the jumps to them, its bridge);
 * - whether bridgewall created the daemon-level chains (DOCKER, DOCKER-FORWARD,
 *   ...) and the jumps to them. Those are shared with a Docker daemon that
 *   uses them too: a daemon-level rule the plan holds is kept as it is, and
 *   none goes while a rule of someone else's is still in those chains.
 * In a built-in chain only rules of the shapes Docker writes there count.
 * Everything else, a Docker daemon's networks included, is someone else's:
 * never changed, never deleted. Where the plan cannot be made without
 * changing it (another manager's daemon-level jumps differ from the plan's,
 * or its rules use a bridge the plan programs), `conflicts` names it, and the
 * caller refuses (ECONFLICT) unless told to adopt: adopting claims every
 * Docker-shaped rule and every DOCKER chain.
 */
import { ruleText } from '../../iptc/rule-text.js';
import { FAMILIES, type Family } from '../../family.js';
import type { IptRule, IptTableName } from '../../iptc/rule.js';
import type { IptChain } from '../../iptc/table.js';
import { parseSubnet, subnetContains, type ParsedSubnet } from '../../address.js';
import type { FirewallModel } from '../../docker/model.js';
import { CHAIN } from '../../docker/iptables/rules.js';
import type { IptablesPlan, IptablesFamilyPlan } from '../../docker/iptables/plan.js';
import type { TablePlan } from '../../docker/iptables/ruleset.js';

/** The chains bridgewall creates and may delete (DOCKER-USER is the user's and is excluded). */
export const OWNED_CHAINS: ReadonlySet<string> = new Set(
  Object.values(CHAIN).filter((name) => name !== CHAIN.user),
);

const INGRESS_CHAINS: ReadonlySet<string> = new Set([CHAIN.ingress]);
/** The daemon-level chains, DOCKER-USER included: what the jumps from the built-in chains lead to. */
const DAEMON_CHAINS: ReadonlySet<string> = new Set(Object.values(CHAIN).filter((name) => name !== CHAIN.ingress));

/** What bridgewall has programmed in one family of a namespace. */
export interface OwnedFamily {
  /** Bridge name to the network's subnet in this family. */
  networks: Record<string, string>;
  /** bridgewall created the daemon-level chains (else another manager did, and they are shared). */
  daemon: boolean;
  /** The swarm ingress's bridge, when bridgewall set it up. */
  ingress?: string;
  /** Raw drops of loopback-bound published ports, as rule text. */
  loopbackDrops: string[];
}

export type OwnedState = Record<Family, OwnedFamily>;

/** Whose rules a table's changes may touch: what the record says, or (`adopt`) every Docker-shaped one. */
export type Claim = OwnedFamily | 'adopt';

export function nothingOwned(): OwnedState {
  return { ipv4: emptyFamily(), ipv6: emptyFamily() };
}

function emptyFamily(): OwnedFamily {
  return { networks: {}, daemon: false, loopbackDrops: [] };
}

/**
 * What a model's plan programs, per family of the model, with `daemon` as
 * given (it depends on what the kernel held); the families the model leaves
 * alone keep what `base` says of them.
 */
export function ownedByModel(model: FirewallModel, plan: IptablesPlan, base: OwnedState, daemon: Record<Family, boolean>): OwnedState {
  const owned = { ...base };
  for (const family of model.families) {
    const entry: OwnedFamily = { networks: {}, daemon: daemon[family.family], loopbackDrops: [] };
    for (const network of family.networks) entry.networks[network.bridge] = network.subnet;
    if (family.family === 'ipv4' && model.ingress) entry.ingress = model.ingress.bridge;
    entry.loopbackDrops = loopbackDropsOf(family.family, plan.families.find((f) => f.family === family.family));
    owned[family.family] = entry;
  }
  return owned;
}

/** What `after` claims that `before` does not: what an update of the record added. */
export function addedClaims(before: OwnedState, after: OwnedState): OwnedState {
  const added = nothingOwned();
  for (const family of FAMILIES) {
    const [was, is] = [before[family], after[family]];
    for (const [bridge, subnet] of Object.entries(is.networks)) if (was.networks[bridge] !== subnet) added[family].networks[bridge] = subnet;
    added[family].daemon = is.daemon && !was.daemon;
    if (is.ingress !== undefined && is.ingress !== was.ingress) added[family].ingress = is.ingress;
    added[family].loopbackDrops = is.loopbackDrops.filter((text) => !was.loopbackDrops.includes(text));
  }
  return added;
}

/** `owned` without `claims` (addedClaims): what a record claimed for a commit that failed, taken back. */
export function withoutClaims(owned: OwnedState, claims: OwnedState): OwnedState {
  const left = nothingOwned();
  for (const family of FAMILIES) {
    const [has, taken] = [owned[family], claims[family]];
    const networks = Object.entries(has.networks).filter(([bridge, subnet]) => taken.networks[bridge] !== subnet);
    left[family] = {
      networks: Object.fromEntries(networks),
      daemon: has.daemon && !taken.daemon,
      ...(has.ingress !== undefined && has.ingress !== taken.ingress ? { ingress: has.ingress } : {}),
      loopbackDrops: has.loopbackDrops.filter((text) => !taken.loopbackDrops.includes(text)),
    };
  }
  return left;
}

/** Both records' claims together: what is written before a commit, so that a crash leaves ours recognised. */
export function unionOwned(a: OwnedState, b: OwnedState): OwnedState {
  const union = nothingOwned();
  for (const family of FAMILIES) {
    const [x, y] = [a[family], b[family]];
    const ingress = y.ingress ?? x.ingress;
    union[family] = {
      networks: { ...x.networks, ...y.networks },
      daemon: x.daemon || y.daemon,
      ...(ingress !== undefined ? { ingress } : {}),
      loopbackDrops: [...new Set([...x.loopbackDrops, ...y.loopbackDrops])],
    };
  }
  return union;
}

/**
 * `owned` without what a change from `before` to `after` released (networks,
 * ingress, loopback drops only `before` had); a loopback drop in `keptInKernel`
 * (rule text) stays claimed: the change left it for another writer's mapping,
 * and whoever removes that mapping last must still find it ours.
 */
export function releasedBetween(owned: OwnedState, before: OwnedState, after: OwnedState, keptInKernel: ReadonlySet<string>): OwnedState {
  const kept = nothingOwned();
  for (const family of FAMILIES) {
    const [was, will, have] = [before[family], after[family], owned[family]];
    const networks = Object.fromEntries(Object.entries(have.networks).filter(([bridge]) => !(bridge in was.networks) || bridge in will.networks));
    const ingress = have.ingress !== undefined && (was.ingress === undefined || will.ingress !== undefined) ? have.ingress : undefined;
    const dropped = new Set(was.loopbackDrops.filter((rule) => !will.loopbackDrops.includes(rule) && !keptInKernel.has(rule)));
    kept[family] = {
      networks, daemon: have.daemon,
      ...(ingress !== undefined ? { ingress } : {}),
      loopbackDrops: have.loopbackDrops.filter((rule) => !dropped.has(rule)),
    };
  }
  return kept;
}

function loopbackDropsOf(family: Family, plan: IptablesFamilyPlan | undefined): string[] {
  const raw = plan?.tables.find((table) => table.name === 'raw');
  const prerouting = raw?.chains.find((chain) => chain.name === 'PREROUTING');
  return [...(prerouting?.head ?? []), ...(prerouting?.tail ?? [])].filter(isLoopbackDrop).map((rule) => ruleText(family, rule));
}

/** `-d 127.0.0.1/32 ! -i lo ... -j DROP`: a port published on loopback only, dropped from elsewhere. */
function isLoopbackDrop(rule: IptRule): boolean {
  return rule.target.name === 'DROP' && rule.inInterface === 'lo' && rule.inInterfaceNegated === true;
}

/** The bridge a rule names, if any (`lo` is no bridge). */
function bridgeOf(rule: IptRule): string | undefined {
  if (rule.inInterface !== undefined && rule.inInterface !== 'lo') return rule.inInterface;
  if (rule.outInterface !== undefined && rule.outInterface !== 'lo') return rule.outInterface;
  return undefined;
}

/** The container address a rule without a bridge is about: a DNAT's destination, a hairpin's source. */
function containerAddressOf(rule: IptRule): string | undefined {
  if (rule.target.name === 'DNAT') return rule.target.toAddress;
  return rule.source === undefined || rule.sourceNegated ? undefined : rule.source.replace(/\/(32|128)$/, '');
}

const SHAPES: Partial<Record<IptTableName, readonly RegExp[]>> = {
  raw: [
    // Direct-access protection for an endpoint.
    /^-d \S+ ! -i \S+ -j DROP$/,
    // Loopback-bound published port.
    /^-d 127\.0\.0\.1\/32 ! -i lo -p (tcp|udp|sctp) -m \1 --dport \d+ -j DROP$/,
  ],
  nat: [
    // Masquerade or SNAT of a network's outgoing traffic.
    /^-s \S+ ! -o \S+ -j (MASQUERADE|SNAT --to-source \S+)$/,
    // Hairpin and swarm ingress: locally sourced traffic out of a bridge.
    /^-o \S+ -m addrtype --src-type LOCAL -j (MASQUERADE|SNAT --to-source \S+)$/,
    // Hairpin NAT of a published port.
    /^-s (\S+) -d \1 -p (tcp|udp|sctp) -m \2 --dport \d+ -j MASQUERADE$/,
  ],
};

/** Adopting: a rule of a built-in chain is ours when it has the shape of one of Docker's, in any other chain of ours always. */
function dockerShaped(family: Family, table: IptTableName, chain: string, rule: IptRule): boolean {
  if (OWNED_CHAINS.has(chain)) return true;
  if (rule.target.name === 'jump' && (OWNED_CHAINS.has(rule.target.chain) || rule.target.chain === CHAIN.user)) return true;
  const text = ruleText(family, rule);
  return (SHAPES[table] ?? []).some((shape) => shape.test(text));
}

type Attribution = 'ours' | 'foreign' | 'daemon';

/**
 * The ownership of one table as read, for the changes that turn it into
 * `planned`: which of its rules the changes may touch, which chains they may
 * delete, and what they could only make by changing someone else's.
 */
export class TableOwnership {
  private readonly subnets: ParsedSubnet[];
  private readonly loopbackDrops: ReadonlySet<string>;
  /** Daemon-level rules the plan holds, by chain and text: kept as they are, whoever wrote them (worked out when first asked). */
  private daemonRules: ReadonlySet<string> | undefined;
  /** Someone else's rules use the daemon-level chains: they stay, with the jumps to them (worked out when first asked). */
  private shared: boolean | undefined;
  /** Container addresses already attributed: a table holds many rules for each. */
  private readonly addresses = new Map<string, boolean>();

  constructor(
    private readonly family: Family,
    private readonly table: IptTableName,
    private readonly claim: Claim,
    private readonly current: readonly IptChain[],
    private readonly planned: TablePlan,
  ) {
    const owned = claim === 'adopt' ? emptyFamily() : claim;
    this.subnets = Object.values(owned.networks).flatMap((subnet) => parseSubnet(subnet) ?? []);
    this.loopbackDrops = new Set(owned.loopbackDrops);
  }

  private get plannedDaemon(): ReadonlySet<string> {
    if (this.daemonRules === undefined) {
      const rules = new Set<string>();
      for (const chain of this.planned.chains) {
        for (const rule of chain.head) if (this.isDaemonJump(rule)) rules.add(`${chain.name} ${ruleText(this.family, rule)}`);
        for (const rule of chain.tail) if (this.isDaemonJump(rule)) rules.add(`${chain.name} ${ruleText(this.family, rule)}`);
      }
      this.daemonRules = rules;
    }
    return this.daemonRules;
  }

  private get daemonShared(): boolean {
    this.shared ??= this.current.some((chain) => DAEMON_CHAINS.has(chain.name) && chain.name !== CHAIN.user &&
      chain.rules.some((entry) => entry.rule === undefined || this.attribute(chain.name, entry.rule) === 'foreign'));
    return this.shared;
  }

  /** Whether the changes may move or delete this rule of `chain`. */
  ownsRule(chain: string, rule: IptRule | undefined): boolean {
    if (rule === undefined) return false;
    if (this.claim === 'adopt') return dockerShaped(this.family, this.table, chain, rule);
    const attribution = this.attribute(chain, rule);
    if (attribution !== 'daemon') return attribution === 'ours';
    return this.daemonIsOurs() || this.plannedDaemon.has(`${chain} ${ruleText(this.family, rule)}`);
  }

  /** Whether the changes may delete this chain: one of ours that holds nothing of anyone else's. */
  mayDeleteChain(chain: IptChain): boolean {
    if (this.claim === 'adopt') return OWNED_CHAINS.has(chain.name);
    if (INGRESS_CHAINS.has(chain.name)) return this.claim.ingress !== undefined && this.holdsOnlyOurs(chain);
    return OWNED_CHAINS.has(chain.name) && this.daemonIsOurs() && this.holdsOnlyOurs(chain);
  }

  /** Whether a flush may delete the user's chain: empty, and going with daemon-level chains of ours. */
  mayDeleteUserChain(chain: IptChain): boolean {
    return chain.rules.length === 0 && (this.claim === 'adopt' || this.daemonIsOurs());
  }

  private daemonIsOurs(): boolean {
    return this.claim !== 'adopt' && this.claim.daemon && !this.daemonShared;
  }

  /** Whether the table holds a daemon-level chain already (else the plan's are bridgewall's to make). */
  holdsDaemonChains(): boolean {
    return this.current.some((chain) => DAEMON_CHAINS.has(chain.name) && chain.name !== CHAIN.user);
  }

  /** What the plan could only make by changing someone else's rules, one line each. */
  conflicts(): string[] {
    if (this.claim === 'adopt') return [];
    const where = `${this.family === 'ipv4' ? 'iptables' : 'ip6tables'} -t ${this.table}`;
    const found: string[] = [];
    // What the plan holds is looked at only for a rule that is not ours: a bulk's tables hold none.
    let planned: { bridges: Set<string>; daemonChains: Set<string> } | undefined;
    const seenBridges = new Set<string>();
    const plansIngress = this.planned.chains.some((chain) => INGRESS_CHAINS.has(chain.name));
    for (const chain of this.current) {
      if (plansIngress && INGRESS_CHAINS.has(chain.name) && !this.holdsOnlyOurs(chain)) {
        found.push(`${where}: another manager's swarm ingress (chain ${chain.name}) is in place, and the spec sets one up`);
        continue;
      }
      for (const { rule } of chain.rules) {
        if (rule === undefined || this.ownsRule(chain.name, rule)) continue;
        planned ??= this.plannedBridgesAndDaemonChains();
        const bridge = bridgeOf(rule);
        if (bridge !== undefined && planned.bridges.has(bridge) && dockerShaped(this.family, this.table, chain.name, rule) && !seenBridges.has(bridge)) {
          seenBridges.add(bridge);
          found.push(`${where}: another manager's rules use bridge ${bridge}, which the spec programs (-A ${chain.name} ${ruleText(this.family, rule)})`);
        } else if (this.isDaemonJump(rule) && bridge === undefined && planned.daemonChains.has(chain.name)) {
          const ours = this.planned.chains.find((c) => c.name === chain.name)!;
          const wanted = [...ours.head, ...ours.tail].filter((r) => this.isDaemonJump(r) && r.target.name === 'jump' &&
            rule.target.name === 'jump' && r.target.chain === rule.target.chain).map((r) => `-A ${chain.name} ${ruleText(this.family, r)}`);
          found.push(`${where}: another manager's daemon-level rule -A ${chain.name} ${ruleText(this.family, rule)}` +
            ` differs from the spec's${wanted.length > 0 ? ` (${wanted.join('; ')})` : ''}: their daemon-level settings (e.g. userlandProxy) differ`);
        }
      }
    }
    return found;
  }

  /** The bridges the plan's rules name, and the chains where it holds daemon-level jumps. */
  private plannedBridgesAndDaemonChains(): { bridges: Set<string>; daemonChains: Set<string> } {
    const bridges = new Set<string>();
    const daemonChains = new Set<string>();
    const see = (chain: string, rule: IptRule) => {
      const bridge = bridgeOf(rule);
      if (bridge !== undefined) bridges.add(bridge);
      if (this.isDaemonJump(rule)) daemonChains.add(chain);
    };
    for (const chain of this.planned.chains) {
      for (const rule of chain.head) see(chain.name, rule);
      for (const rule of chain.tail) see(chain.name, rule);
    }
    return { bridges, daemonChains };
  }

  private holdsOnlyOurs(chain: IptChain): boolean {
    return chain.rules.every((entry) => this.ownsRule(chain.name, entry.rule));
  }

  private isDaemonJump(rule: IptRule): boolean {
    return rule.target.name === 'jump' && DAEMON_CHAINS.has(rule.target.chain) && bridgeOf(rule) === undefined;
  }

  private attribute(chain: string, rule: IptRule): Attribution {
    const owned = this.claim as OwnedFamily;
    // The user's rules (in DOCKER-USER, or a built-in chain's that Docker never writes) are theirs, whatever bridge they name.
    if (chain === CHAIN.user || (!OWNED_CHAINS.has(chain) && !dockerShaped(this.family, this.table, chain, rule))) return 'foreign';
    if (INGRESS_CHAINS.has(chain) || (rule.target.name === 'jump' && INGRESS_CHAINS.has(rule.target.chain))) {
      return owned.ingress !== undefined ? 'ours' : 'foreign';
    }
    if (isLoopbackDrop(rule)) return this.loopbackDrops.has(ruleText(this.family, rule)) ? 'ours' : 'foreign';
    const bridge = bridgeOf(rule);
    if (bridge !== undefined) return bridge in owned.networks || bridge === owned.ingress ? 'ours' : 'foreign';
    if (this.isDaemonJump(rule)) return 'daemon';
    const address = containerAddressOf(rule);
    if (address === undefined) return 'foreign';
    let ours = this.addresses.get(address);
    if (ours === undefined) {
      ours = this.subnets.some((subnet) => subnet.family === this.family && safeContains(subnet, address));
      this.addresses.set(address, ours);
    }
    return ours ? 'ours' : 'foreign';
  }
}

function safeContains(subnet: ParsedSubnet, address: string): boolean {
  try {
    return subnetContains(subnet, address);
  } catch {
    return false;
  }
}

/**
 * A port call in proportion to the call: publishing or unpublishing a few
 * bindings of one endpoint while the tables hold what this backend last
 * committed, without reading them back or planning the whole model.
 *
 * The result is the one the whole path (merge.ts, diff.ts) reaches: the
 * rules only the removed bindings had are deleted (unless another writer's
 * DNAT rule still needs them, port-holders.ts), and each new rule goes
 * before the next rule the plan puts after it that the kernel holds, or at
 * the end; the plan's order is found by walking Docker's call sequence
 * (replay.ts) from the binding, not by planning it all. What the whole path
 * alone can tell is left to it (`undefined`): bindings without a host port
 * (their forward accept can repeat another binding's), a chain shared with
 * someone else's rules, a large change, or a walk that finds no neighbour
 * within its bounds.
 */
import { CHAIN, bindingRules, type RuleChange } from '../../docker/iptables/rules.js';
import { rulesAfter, rulesBefore, type BindingPosition } from '../../docker/iptables/replay.js';
import type { TablePlan } from '../../docker/iptables/ruleset.js';
import { compareBindings, type FamilyModel, type IngressModel, type NetworkModel, type PortBindingModel } from '../../docker/model.js';
import type { FamilyPortChange } from '../../docker/port-change.js';
import type { Family } from '../../family.js';
import type { IptcOperation } from '../../iptc/operation.js';
import type { IptRule } from '../../iptc/rule.js';
import { ruleText } from '../../iptc/rule-text.js';
import type { IptTableRead, ReadRuleEntry } from '../../iptc/table.js';
import { TableOwnership, type Claim } from './ownership.js';
import { DnatRules, portHolders } from './port-holders.js';

/** Above this many bindings, a change takes the whole path: each rule placed costs a scan of its chain here. */
export const MAX_PORT_PATH_BINDINGS = 64;
/** Rule changes a walk for a neighbour looks at before leaving the change to the whole path. */
const MAX_WALK = 20_000;

/** The tables a published port's rules go to. */
export const PORT_TABLES = ['raw', 'nat', 'filter'] as const;
export type PortTable = typeof PORT_TABLES[number];

/** The chains a published port's rules go to. */
const PORT_CHAINS: readonly { table: PortTable; chain: string }[] = [
  { table: 'raw', chain: 'PREROUTING' },
  { table: 'nat', chain: CHAIN.docker },
  { table: 'nat', chain: 'POSTROUTING' },
  { table: 'filter', chain: CHAIN.docker },
];

/**
 * Which rule texts the port chains of one family's raw, nat and filter tables
 * hold, for the tables as known (`reads`), and nat DOCKER's DNAT rules by
 * port and address (`dnats`); kept up to date by the port path's own commits,
 * built anew (in one pass) when the tables were read or changed otherwise.
 * Undefined for a chain that holds rules not ours, or is missing.
 */
export class PortChainTexts {
  private constructor(
    readonly reads: Record<PortTable, IptTableRead>,
    private readonly texts: Map<string, Map<string, number> | undefined>,
    readonly dnats: DnatRules,
  ) {}

  static build(family: Family, reads: Record<PortTable, IptTableRead>, claim: Claim): PortChainTexts {
    const texts = new Map<string, Map<string, number> | undefined>();
    for (const { table, chain: name } of PORT_CHAINS) {
      const chains = reads[table].chains;
      const chain = chains.find((candidate) => candidate.name === name);
      const owner = new TableOwnership(family, table, claim, chains, { name: table, chains: [] });
      const counts = new Map<string, number>();
      let ours = chain !== undefined;
      for (const entry of chain?.rules ?? []) {
        if (!owner.ownsRule(name, entry.rule)) {
          ours = false;
          break;
        }
        const text = ruleText(family, entry.rule!);
        counts.set(text, (counts.get(text) ?? 0) + 1);
      }
      texts.set(`${table} ${name}`, ours ? counts : undefined);
    }
    const docker = reads.nat.chains.find((chain) => chain.name === CHAIN.docker)?.rules ?? [];
    return new PortChainTexts(reads, texts, new DnatRules(family, docker.flatMap((entry) => (entry.rule ? [entry.rule] : []))));
  }

  chain(table: string, chain: string): Map<string, number> | undefined {
    return this.texts.get(`${table} ${chain}`);
  }

  /** The same texts after `changes`, for the tables as that commit left them. */
  after(changes: PortPathChanges, reads: Record<PortTable, IptTableRead>): PortChainTexts {
    for (const [key, removed] of changes.removedTexts) {
      const counts = this.texts.get(key)!;
      for (const text of removed) {
        const left = (counts.get(text) ?? 1) - 1;
        if (left > 0) counts.set(text, left);
        else counts.delete(text);
      }
    }
    for (const [key, added] of changes.addedTexts) {
      const counts = this.texts.get(key)!;
      for (const text of added) counts.set(text, (counts.get(text) ?? 0) + 1);
    }
    for (const rule of changes.dnats.removed) this.dnats.remove(rule);
    for (const rule of changes.dnats.added) this.dnats.add(rule);
    return new PortChainTexts(reads, this.texts, this.dnats);
  }
}

export interface PortPathChanges {
  operations: Record<PortTable, IptcOperation[]>;
  /** By `table chain`: the texts the operations delete and add, for PortChainTexts.after. */
  removedTexts: Map<string, string[]>;
  addedTexts: Map<string, string[]>;
  /** The rules the operations delete from and add to nat DOCKER, for PortChainTexts.after. */
  dnats: { removed: IptRule[]; added: IptRule[] };
}

/** Where the change's endpoint is in the family's model: its network's index and its own. */
export interface EndpointAfter {
  network: number;
  endpoint: number;
}

/**
 * The raw, nat and filter operations of one family's port change, or undefined
 * where the whole path must decide. `model` is the family's model after the
 * change (the endpoint at `at` holds the bindings after it), `added` the
 * change's added bindings.
 */
export function portPathChanges(
  family: Family, model: FamilyModel, ingress: IngressModel | undefined, at: EndpointAfter,
  change: FamilyPortChange, added: readonly PortBindingModel[], texts: PortChainTexts,
): PortPathChanges | undefined {
  const network = model.networks[at.network]!;
  const bindings = network.endpoints[at.endpoint]!.bindings;
  // A binding without a host port can repeat another's forward accept out of order (it comes after those with one).
  const simple = (binding: PortBindingModel) => binding.hostPort !== undefined;
  if (!bindings.every(simple) || !change.removed.every(simple) || !added.every(simple)) return undefined;
  if (PORT_CHAINS.some(({ table, chain }) => texts.chain(table, chain) === undefined)) return undefined;

  const text = (rule: IptRule) => ruleText(family, rule);
  const key = (rule: RuleChange) => `${rule.table} ${rule.chain}`;
  // A kept binding shares a rule with a changed one only on the same protocol and host or container port (every
  // rule of a binding names one of the two): only those kept bindings' rules are made, not the endpoint's thousands.
  const sharing = (binding: PortBindingModel) => [`${binding.proto} ${binding.hostPort}>`, `${binding.proto} >${binding.containerPort}`];
  const changedPorts = new Set([...change.removed, ...added].flatMap(sharing));
  const keptTexts = new Set(change.kept.filter((binding) => sharing(binding).some((port) => changedPorts.has(port)))
    .flatMap((binding) => bindingRules(network, binding)).map((rule) => text(rule.rule)));
  const removedRules = change.removed.flatMap((binding) => bindingRules(network, binding));
  const addedByBinding = [...added].sort(compareBindings).map((binding) => ({ binding, rules: bindingRules(network, binding) }));
  const changeAdds = new Set(addedByBinding.flatMap(({ rules }) => rules.map((rule) => text(rule.rule))));
  const holders = portHolders(
    family, texts.dnats.concerning([...change.removed, ...added]),
    dnatPlan(removedRules), dnatPlan(addedByBinding.flatMap(({ rules }) => rules)));

  const working = new Map<string, EditedChain>();
  // Every port chain is held (PortChainTexts says so): a port rule's chain is one of them.
  const chainOf = (table: PortTable, name: string) => {
    let chain = working.get(`${table} ${name}`);
    if (!chain) {
      chain = new EditedChain(family, name, texts.reads[table].chains.find((candidate) => candidate.name === name)!.rules);
      working.set(`${table} ${name}`, chain);
    }
    return chain;
  };
  const removedTexts = new Map<string, string[]>();
  const addedTexts = new Map<string, string[]>();
  const dnats: PortPathChanges['dnats'] = { removed: [], added: [] };
  const inDocker = (rule: RuleChange) => rule.table === 'nat' && rule.chain === CHAIN.docker;
  const gone = (ruleKey: string, ruleText: string) => removedTexts.get(ruleKey)?.includes(ruleText) === true;
  const held = (rule: RuleChange) => {
    const ruleText = text(rule.rule);
    return (texts.chain(rule.table, rule.chain)?.get(ruleText) ?? 0) > 0 && !gone(key(rule), ruleText);
  };

  for (const rule of removedRules) {
    const ruleText = text(rule.rule);
    if (keptTexts.has(ruleText) || changeAdds.has(ruleText) || holders.needs(rule.rule) || gone(key(rule), ruleText)) continue;
    if (!held(rule)) return undefined;
    chainOf(rule.table as PortTable, rule.chain).delete(ruleText);
    removedTexts.set(key(rule), [...(removedTexts.get(key(rule)) ?? []), ruleText]);
    if (inDocker(rule)) dnats.removed.push(rule.rule);
  }

  // Appended rules in the plan's order, inserted ones against it: each then lands after those placed before it.
  const position = (binding: PortBindingModel): BindingPosition => ({ ...at, binding: bindings.findIndex((b) => b.key === binding.key) });
  const placements: { rule: RuleChange; at: BindingPosition }[] = [];
  for (const { binding, rules } of addedByBinding) for (const rule of rules) if (rule.placement === 'append') placements.push({ rule, at: position(binding) });
  for (const { binding, rules } of [...addedByBinding].reverse()) for (const rule of rules) if (rule.placement !== 'append') placements.push({ rule, at: position(binding) });
  /** Per chain, how many rules this change put right after each held head rule (its text; '' for the chain's top). */
  const afterHead = new Map<string, number>();
  for (const { rule, at: place } of placements) {
    const ruleText = text(rule.rule);
    if (held(rule) || addedTexts.get(key(rule))?.includes(ruleText)) continue;
    const chain = chainOf(rule.table as PortTable, rule.chain);
    const same = (candidate: RuleChange) => candidate.table === rule.table && candidate.chain === rule.chain;
    let index: number;
    if (rule.placement === 'append') {
      // Before the next appended rule of the chain the kernel holds, else at the end.
      const next = nearest(rulesAfter(model, ingress, place), (candidate) => same(candidate) && candidate.placement === 'append' && held(candidate));
      if (next === null) return undefined;
      index = next === undefined ? chain.length : chain.indexOf(text(next.rule));
    } else {
      // Before the held head rule the plan puts next (the nearest earlier insert), else after every held one.
      const before = nearest(rulesBefore(model, place), (candidate) => same(candidate) && candidate.placement !== 'append' && held(candidate));
      if (before === null) return undefined;
      if (before !== undefined) index = chain.indexOf(text(before.rule));
      else {
        const last = nearest(rulesAfter(model, ingress, place), (candidate) => same(candidate) && candidate.placement !== 'append' && held(candidate));
        if (last === null) return undefined;
        const headKey = `${key(rule)} ${last === undefined ? '' : text(last.rule)}`;
        const placed = afterHead.get(headKey) ?? 0;
        index = (last === undefined ? 0 : chain.indexOf(text(last.rule)) + 1) + placed;
        afterHead.set(headKey, placed + 1);
      }
    }
    chain.insert(index, rule.rule);
    addedTexts.set(key(rule), [...(addedTexts.get(key(rule)) ?? []), ruleText]);
    if (inDocker(rule)) dnats.added.push(rule.rule);
  }
  const operations: Record<PortTable, IptcOperation[]> = { raw: [], nat: [], filter: [] };
  for (const [chainKey, chain] of working) operations[chainKey.split(' ')[0] as PortTable].push(...chain.operations);
  return { operations, removedTexts, addedTexts, dnats };
}

/** The first rule change `walk` yields that `wanted` takes; undefined at its end; null when it goes on too long. */
function nearest(walk: Iterable<RuleChange>, wanted: (rule: RuleChange) => boolean): RuleChange | undefined | null {
  let steps = 0;
  for (const rule of walk) {
    if (wanted(rule)) return rule;
    if (++steps > MAX_WALK) return null;
  }
  return undefined;
}

/**
 * A chain as read with the change's operations on it, positions in the rules
 * read moved by the operations before: held rules are found without copying
 * the chain, which may hold tens of thousands.
 */
class EditedChain {
  readonly operations: IptcOperation[] = [];
  /** The chain's length after the operations so far. */
  length: number;

  constructor(private readonly family: Family, private readonly name: string, private readonly read: readonly ReadRuleEntry[]) {
    this.length = read.length;
  }

  /** Where the held rule of this text is now. */
  indexOf(text: string): number {
    let index = this.read.findIndex((entry) => entry.rule !== undefined && ruleText(this.family, entry.rule) === text);
    if (index === -1) throw new Error(`chain ${this.name} holds no rule ${text}`);
    for (const operation of this.operations) {
      if (operation.op === 'deleteAt' && operation.index < index) index--;
      else if (operation.op === 'insert' && operation.index <= index) index++;
    }
    return index;
  }

  delete(text: string): void {
    this.operations.push({ op: 'deleteAt', chain: this.name, index: this.indexOf(text) });
    this.length--;
  }

  insert(index: number, rule: IptRule): void {
    this.operations.push(index === this.length ? { op: 'append', chain: this.name, rule } : { op: 'insert', chain: this.name, index, rule });
    this.length++;
  }
}

/** The DNAT rules among `rules`, as the nat plan port-holders.ts reads them from. */
function dnatPlan(rules: readonly RuleChange[]): TablePlan {
  const dnats = rules.filter((rule) => rule.table === 'nat' && rule.chain === CHAIN.docker).map((rule) => rule.rule);
  return { name: 'nat', chains: [{ name: CHAIN.docker, builtin: false, userOwned: false, head: [], tail: dnats }] };
}

/** The model with the endpoint at `at` holding `bindings`: new objects along the way, the rest shared. */
export function withBindings(model: FamilyModel, at: EndpointAfter, bindings: PortBindingModel[]): FamilyModel {
  const networks = model.networks.slice();
  const network: NetworkModel = { ...networks[at.network]!, endpoints: networks[at.network]!.endpoints.slice() };
  network.endpoints[at.endpoint] = { ...network.endpoints[at.endpoint]!, bindings };
  networks[at.network] = network;
  return { ...model, networks };
}

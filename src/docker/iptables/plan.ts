/**
 * The desired iptables state for a model: Docker's sequence of firewaller
 * calls replayed, in spec order, on an empty in-memory ruleset per family.
 *
 * The sequence is the daemon's: set-up, then each network followed by its
 * endpoints, each endpoint followed by its port bindings (as `docker run`
 * creates, joins and publishes one container at a time), then the swarm
 * ingress, which the daemon configures once docker_gwbridge exists. Since
 * rules go either to the head or the tail of a chain, only the order among
 * inserts and among appends matters, and this sequence fixes both.
 */
import { formatSave, type IptTableSnapshot } from '../../iptc/format.js';
import type { Family } from '../../family.js';
import type { FamilyModel, FirewallModel, IngressModel } from '../model.js';
import { replay } from './replay.js';
import { DAEMON_CHAINS, INGRESS_CHAINS } from './rules.js';
import { IptablesRuleset, PLANNED_TABLES, type TablePlan } from './ruleset.js';

export interface IptablesPlan {
  /** One entry per enabled family. */
  families: IptablesFamilyPlan[];
}

export interface IptablesFamilyPlan {
  family: Family;
  /** raw, filter and nat, in that order. */
  tables: TablePlan[];
}

export function planIptables(model: FirewallModel): IptablesPlan {
  return {
    families: model.families.map((family) => familyPlan(buildRuleset(family, ingressFor(model, family)))),
  };
}

/**
 * Replays the whole model on a fresh ruleset: the chains `NewIptabler` (and
 * for the swarm ingress, initIngressConfiguration) creates, then every rule
 * change in Docker's order (replay.ts).
 */
function buildRuleset(family: FamilyModel, ingress?: IngressModel): IptablesRuleset {
  const ruleset = new IptablesRuleset(family.family);
  for (const chain of [...DAEMON_CHAINS, ...(ingress ? INGRESS_CHAINS : [])]) ruleset.ensureChain(chain.table, chain.name, chain.userOwned);
  for (const changes of replay(family, ingress)) {
    for (const change of changes) ruleset.add(change.table, change.chain, change.rule, change.placement);
  }
  return ruleset;
}

function familyPlan(ruleset: IptablesRuleset): IptablesFamilyPlan {
  return { family: ruleset.family, tables: PLANNED_TABLES.map((table) => ruleset.table(table)) };
}

/**
 * What `iptables-save -t raw; -t filter; -t nat` would print in a namespace
 * holding only this plan (a disabled family prints its empty tables).
 */
export function renderIptablesSave(family: Family, plan: IptablesFamilyPlan | undefined): string {
  const tables = plan?.tables ?? PLANNED_TABLES.map((name): TablePlan => ({ name, chains: [] }));
  return formatSave(family, tables.map(toSnapshot));
}

function toSnapshot(table: TablePlan): IptTableSnapshot {
  return {
    name: table.name,
    chains: table.chains.map((chain) => ({
      name: chain.name,
      ...(chain.builtin ? { policy: 'ACCEPT' as const } : {}),
      rules: [...chain.head, ...chain.tail],
    })),
  };
}

/** Swarm's routing mesh is IPv4 only. */
function ingressFor(model: FirewallModel, family: FamilyModel): IngressModel | undefined {
  return family.family === 'ipv4' ? model.ingress : undefined;
}

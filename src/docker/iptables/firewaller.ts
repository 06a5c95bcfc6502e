/**
 * Docker's firewaller operations that build a ruleset (NewIptabler, NewNetwork,
 * AddEndpoint, AddPorts, the ingress ports), over an in-memory ruleset: the
 * plan replays them in Docker's order. Removal has no operations of its own:
 * the Firewall edits the spec, and the backend merges the plans before and
 * after the edit into what the kernel holds (backends/iptables/merge.ts).
 */
import type { EndpointModel, FamilyModel, IngressModel, NetworkModel, PortBindingModel } from '../model.js';
import {
  bindingRules, DAEMON_CHAINS, daemonRules, endpointRules, INGRESS_CHAINS, ingressPortRules, ingressRules,
  networkRules, type RuleChange,
} from './rules.js';
import type { IptablesRuleset } from './ruleset.js';

export function setupDaemon(ruleset: IptablesRuleset, family: FamilyModel): void {
  for (const chain of DAEMON_CHAINS) ruleset.ensureChain(chain.table, chain.name, chain.userOwned);
  addRules(ruleset, daemonRules(family));
}

export function newNetwork(ruleset: IptablesRuleset, network: NetworkModel): void {
  addRules(ruleset, networkRules(network));
}

export function addEndpoint(ruleset: IptablesRuleset, network: NetworkModel, endpoint: EndpointModel): void {
  addRules(ruleset, endpointRules(network, endpoint.address));
}

/** Bindings are programmed in the order given; Docker's is `compareBindings` order. */
export function addPorts(ruleset: IptablesRuleset, network: NetworkModel, bindings: readonly PortBindingModel[]): void {
  for (const binding of bindings) addRules(ruleset, bindingRules(network, binding));
}

/** Sets up the ingress chains and jumps (initIngressConfiguration), then publishes the ingress ports. */
export function addIngressPorts(ruleset: IptablesRuleset, ingress: IngressModel): void {
  for (const chain of INGRESS_CHAINS) ruleset.ensureChain(chain.table, chain.name);
  addRules(ruleset, ingressRules(ingress));
  for (const port of ingress.ports) addRules(ruleset, ingressPortRules(ingress, port));
}

function addRules(ruleset: IptablesRuleset, changes: readonly RuleChange[]): void {
  for (const change of changes) ruleset.add(change.table, change.chain, change.rule, change.placement);
}

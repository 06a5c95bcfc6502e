/**
 * Docker's firewaller operations (NewIptabler, NewNetwork / DelNetworkLevelRules,
 * AddEndpoint / DelEndpoint, AddPorts / DelPorts, ingress ports) over an
 * in-memory ruleset. The declarative plan replays them in Docker's order, an
 * imperative API calls them one at a time: both share this one code path.
 *
 * Every rule is claimed by an owner named after what asked for it, so
 * removing one network, endpoint or binding never takes rules another one
 * still needs.
 */
import type { EndpointModel, FamilyModel, IngressModel, IngressPortModel, NetworkModel, PortBindingModel } from '../model.js';
import {
  bindingRules, DAEMON_CHAINS, daemonRules, endpointRules, INGRESS_CHAINS, ingressPortRules, ingressRules,
  networkRules, type RuleChange,
} from './rules.js';
import type { IptablesRuleset } from './ruleset.js';

const DAEMON_OWNER = 'daemon';
const INGRESS_OWNER = 'ingress';

export function setupDaemon(ruleset: IptablesRuleset, family: FamilyModel): void {
  for (const chain of DAEMON_CHAINS) ruleset.ensureChain(chain.table, chain.name, DAEMON_OWNER, chain.userOwned);
  addRules(ruleset, daemonRules(family), DAEMON_OWNER);
}

export function newNetwork(ruleset: IptablesRuleset, network: NetworkModel): void {
  addRules(ruleset, networkRules(network), networkOwner(network));
}

export function delNetwork(ruleset: IptablesRuleset, network: NetworkModel): void {
  removeRules(ruleset, networkRules(network), networkOwner(network));
}

export function addEndpoint(ruleset: IptablesRuleset, network: NetworkModel, endpoint: EndpointModel): void {
  addRules(ruleset, endpointRules(network, endpoint.address), endpointOwner(network, endpoint));
}

export function delEndpoint(ruleset: IptablesRuleset, network: NetworkModel, endpoint: EndpointModel): void {
  removeRules(ruleset, endpointRules(network, endpoint.address), endpointOwner(network, endpoint));
}

/** Bindings are programmed in the order given; Docker's is `compareBindings` order. */
export function addPorts(ruleset: IptablesRuleset, network: NetworkModel, bindings: readonly PortBindingModel[]): void {
  for (const binding of bindings) addRules(ruleset, bindingRules(network, binding), bindingOwner(network, binding));
}

export function delPorts(ruleset: IptablesRuleset, network: NetworkModel, bindings: readonly PortBindingModel[]): void {
  for (const binding of bindings) removeRules(ruleset, bindingRules(network, binding), bindingOwner(network, binding));
}

/**
 * addIngressPorts: (re)initialises the ingress chains and jumps, then publishes
 * `ports` for `service`. A port stays published while any service publishes it.
 */
export function addIngressPorts(
  ruleset: IptablesRuleset, ingress: IngressModel, ports: readonly IngressPortModel[], service: string,
): void {
  for (const chain of INGRESS_CHAINS) ruleset.ensureChain(chain.table, chain.name, INGRESS_OWNER);
  addRules(ruleset, ingressRules(ingress), INGRESS_OWNER);
  for (const port of ports) addRules(ruleset, ingressPortRules(ingress, port), ingressPortOwner(port, service));
}

export function delIngressPorts(
  ruleset: IptablesRuleset, ingress: IngressModel, ports: readonly IngressPortModel[], service: string,
): void {
  for (const port of ports) removeRules(ruleset, ingressPortRules(ingress, port), ingressPortOwner(port, service));
}

/**
 * Removes the ingress chains, jumps and masquerade rule. Docker never does
 * (it leaves them for the daemon's lifetime); here they go with the last
 * ingress so that removal returns to the daemon-level state.
 */
export function delIngress(ruleset: IptablesRuleset, ingress: IngressModel): void {
  removeRules(ruleset, ingressRules(ingress), INGRESS_OWNER);
  for (const chain of INGRESS_CHAINS) ruleset.releaseChain(chain.table, chain.name, INGRESS_OWNER);
}

function addRules(ruleset: IptablesRuleset, changes: readonly RuleChange[], owner: string): void {
  for (const change of changes) ruleset.add(change.table, change.chain, change.rule, change.placement, owner);
}

function removeRules(ruleset: IptablesRuleset, changes: readonly RuleChange[], owner: string): void {
  for (const change of changes) ruleset.remove(change.table, change.chain, change.rule, owner);
}

function networkOwner(network: NetworkModel): string {
  return `network ${network.key}`;
}

function endpointOwner(network: NetworkModel, endpoint: EndpointModel): string {
  return `endpoint ${network.key} ${endpoint.key}`;
}

function bindingOwner(network: NetworkModel, binding: PortBindingModel): string {
  return `binding ${network.key} ${binding.key}`;
}

function ingressPortOwner(port: IngressPortModel, service: string): string {
  return `ingress ${service} ${port.key}`;
}

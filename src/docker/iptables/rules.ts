/**
 * The iptables rules behind each model decision, listed in the order Docker
 * Engine v29 issues them, each with Docker's choice of append or insert
 * (moby daemon/libnetwork/drivers/bridge/internal/iptabler, firewall_linux.go
 * and service_linux.go). The plan adds each list in order.
 */
import type { Family } from '../../family.js';
import type { IptMatch, IptProtocol, IptRule, IptTableName, IptTarget } from '../../iptc/rule.js';
import type { PortProtocol } from '../../input/types.js';
import type { FamilyModel, IngressModel, IngressPortModel, NetworkModel, PortBindingModel, SourceNat } from '../model.js';
import type { Placement } from './ruleset.js';

export const CHAIN = {
  docker: 'DOCKER',
  forward: 'DOCKER-FORWARD',
  bridge: 'DOCKER-BRIDGE',
  conntrack: 'DOCKER-CT',
  internal: 'DOCKER-INTERNAL',
  user: 'DOCKER-USER',
  ingress: 'DOCKER-INGRESS',
} as const;

export interface RuleChange {
  table: IptTableName;
  chain: string;
  rule: IptRule;
  placement: Placement;
}

export interface ChainChange {
  table: IptTableName;
  name: string;
  userOwned?: boolean;
}

/** Chains `NewIptabler` creates, then DOCKER-USER, which the daemon creates for the user. */
export const DAEMON_CHAINS: readonly ChainChange[] = [
  { table: 'nat', name: CHAIN.docker },
  { table: 'filter', name: CHAIN.docker },
  { table: 'filter', name: CHAIN.forward },
  { table: 'filter', name: CHAIN.bridge },
  { table: 'filter', name: CHAIN.conntrack },
  { table: 'filter', name: CHAIN.internal },
  { table: 'filter', name: CHAIN.user, userOwned: true },
];

export const INGRESS_CHAINS: readonly ChainChange[] = [
  { table: 'nat', name: CHAIN.ingress },
  { table: 'filter', name: CHAIN.ingress },
];

const ACCEPT: IptTarget = { name: 'ACCEPT' };
const DROP: IptTarget = { name: 'DROP' };
const MASQUERADE: IptTarget = { name: 'MASQUERADE' };
const LOCAL_DESTINATION: IptMatch = { name: 'addrtype', destinationType: 'LOCAL' };
const LOCAL_SOURCE: IptMatch = { name: 'addrtype', sourceType: 'LOCAL' };
const REPLIES: IptMatch = { name: 'conntrack', states: ['RELATED', 'ESTABLISHED'] };

/** setupIPChains (NewIptabler), then setupUserChain. */
export function daemonRules(family: FamilyModel): RuleChange[] {
  const output: IptRule = { matches: [LOCAL_DESTINATION], target: jump(CHAIN.docker) };
  if (family.proxiedLoopback !== undefined) {
    output.destination = family.proxiedLoopback;
    output.destinationNegated = true;
  }
  return [
    { table: 'nat', chain: 'PREROUTING', rule: { matches: [LOCAL_DESTINATION], target: jump(CHAIN.docker) }, placement: 'append' },
    { table: 'nat', chain: 'OUTPUT', rule: output, placement: 'append' },
    // Each EnsureJumpRule moves its jump to the head, so DOCKER-FORWARD ends up CT, INTERNAL, BRIDGE.
    { table: 'filter', chain: 'FORWARD', rule: { target: jump(CHAIN.forward) }, placement: 'first' },
    { table: 'filter', chain: CHAIN.forward, rule: { target: jump(CHAIN.bridge) }, placement: 'first' },
    { table: 'filter', chain: CHAIN.forward, rule: { target: jump(CHAIN.internal) }, placement: 'first' },
    { table: 'filter', chain: CHAIN.forward, rule: { target: jump(CHAIN.conntrack) }, placement: 'first' },
    { table: 'filter', chain: 'FORWARD', rule: { target: jump(CHAIN.user) }, placement: 'first' },
  ];
}

/** network.setupIPTables: internal or non-internal network-level rules. */
export function networkRules(network: NetworkModel): RuleChange[] {
  return network.internal ? internalNetworkRules(network) : externalNetworkRules(network);
}

function internalNetworkRules(network: NetworkModel): RuleChange[] {
  const bridge = network.bridge;
  // ip6tables rules also exclude traffic staying on the bridge; the iptables ones don't.
  const ipv6 = network.family === 'ipv6';
  const inbound: IptRule = {
    destination: network.subnet, destinationNegated: true, inInterface: bridge, target: { name: 'DROP' },
  };
  const outbound: IptRule = {
    source: network.subnet, sourceNegated: true, outInterface: bridge, target: { name: 'DROP' },
  };
  if (ipv6) {
    Object.assign(inbound, { outInterface: bridge, outInterfaceNegated: true });
    Object.assign(outbound, { inInterface: bridge, inInterfaceNegated: true });
  }
  return [
    { table: 'filter', chain: CHAIN.internal, rule: inbound, placement: 'insert' },
    { table: 'filter', chain: CHAIN.internal, rule: outbound, placement: 'insert' },
    {
      table: 'filter', chain: CHAIN.forward, placement: 'append',
      rule: { inInterface: bridge, outInterface: bridge, target: { name: network.icc ? 'ACCEPT' : 'DROP' } },
    },
  ];
}

function externalNetworkRules(network: NetworkModel): RuleChange[] {
  const bridge = network.bridge;
  const changes: RuleChange[] = [];
  if (network.outboundNat) {
    changes.push({
      table: 'nat', chain: 'POSTROUTING', placement: 'insert',
      rule: { source: network.subnet, outInterface: bridge, outInterfaceNegated: true, target: natTarget(network.outboundNat) },
    });
  }
  if (network.localHostNat) {
    changes.push({
      table: 'nat', chain: 'POSTROUTING', placement: 'insert',
      rule: { outInterface: bridge, matches: [LOCAL_SOURCE], target: natTarget(network.localHostNat) },
    });
  }
  if (!network.icc) {
    changes.push({
      table: 'filter', chain: CHAIN.forward, placement: 'append',
      rule: { inInterface: bridge, outInterface: bridge, target: { name: 'DROP' } },
    });
  }
  if (network.acceptIcmp) {
    changes.push({
      table: 'filter', chain: CHAIN.docker, placement: 'append',
      rule: { outInterface: bridge, protocol: icmpProtocol(network.family), target: { name: 'ACCEPT' } },
    });
  }
  const outgoing: IptRule = network.icc
    ? { inInterface: bridge, target: { name: 'ACCEPT' } }
    : { inInterface: bridge, outInterface: bridge, outInterfaceNegated: true, target: { name: 'ACCEPT' } };
  changes.push(
    { table: 'filter', chain: CHAIN.forward, rule: outgoing, placement: 'append' },
    // The default for traffic into the bridge follows the per-port ACCEPTs, which are inserted above it.
    {
      table: 'filter', chain: CHAIN.docker, placement: 'append',
      rule: { inInterface: bridge, inInterfaceNegated: true, outInterface: bridge, target: { name: network.defaultInbound } },
    },
    {
      table: 'filter', chain: CHAIN.conntrack, placement: 'append',
      rule: { outInterface: bridge, matches: [REPLIES], target: { name: 'ACCEPT' } },
    },
    { table: 'filter', chain: CHAIN.bridge, rule: { outInterface: bridge, target: jump(CHAIN.docker) }, placement: 'append' },
  );
  return changes;
}

/** filterDirectAccess, for AddEndpoint. */
export function endpointRules(network: NetworkModel, address: string): RuleChange[] {
  if (!network.dropDirectAccess) return [];
  return [{
    table: 'raw', chain: 'PREROUTING', placement: 'append',
    rule: { destination: address, inInterface: network.bridge, inInterfaceNegated: true, target: { name: 'DROP' } },
  }];
}

/** setPerPortIptables, for one binding of AddPorts. */
export function bindingRules(network: NetworkModel, binding: PortBindingModel): RuleChange[] {
  const changes: RuleChange[] = [];
  const { proto, hostPort, containerAddress, containerPort } = binding;
  // Shared by the binding's rules, which are never changed once built: a bulk's tens of thousands of rules are fewer objects to make and collect.
  const toHostPort = hostPort === undefined ? undefined : destinationPort(proto, hostPort);
  const toContainerPort = destinationPort(proto, containerPort);
  if (binding.dropNonLoopback && toHostPort !== undefined) {
    changes.push({
      table: 'raw', chain: 'PREROUTING', placement: 'append',
      rule: {
        destination: binding.hostAddress, inInterface: 'lo', inInterfaceNegated: true,
        protocol: proto, matches: toHostPort, target: DROP,
      },
    });
  }
  if (toHostPort !== undefined) {
    const dnat: IptRule = {
      protocol: proto, matches: toHostPort,
      target: { name: 'DNAT', toAddress: containerAddress, toPort: containerPort },
    };
    if (binding.dnatExcludedSource !== undefined) Object.assign(dnat, { source: binding.dnatExcludedSource, sourceNegated: true });
    if (binding.hostAddress !== undefined) dnat.destination = binding.hostAddress;
    if (binding.dnatSkipsBridge) Object.assign(dnat, { inInterface: network.bridge, inInterfaceNegated: true });
    changes.push({ table: 'nat', chain: CHAIN.docker, rule: dnat, placement: 'append' });
  }
  if (binding.hairpinMasquerade) {
    changes.push({
      table: 'nat', chain: 'POSTROUTING', placement: 'append',
      rule: {
        source: containerAddress, destination: containerAddress,
        protocol: proto, matches: toContainerPort, target: MASQUERADE,
      },
    });
  }
  if (binding.acceptForward) {
    // Inserted: per-port ACCEPTs must precede the network's default DROP in the same chain.
    changes.push({
      table: 'filter', chain: CHAIN.docker, placement: 'insert',
      rule: {
        destination: containerAddress, inInterface: network.bridge, inInterfaceNegated: true, outInterface: network.bridge,
        protocol: proto, matches: toContainerPort, target: ACCEPT,
      },
    });
  }
  return changes;
}

/** initIngressConfiguration: chains ending in RETURN, jumps to them, masquerade of local traffic into the gateway bridge. */
export function ingressRules(ingress: IngressModel): RuleChange[] {
  const toIngress = { matches: [LOCAL_DESTINATION], target: jump(CHAIN.ingress) };
  return [
    { table: 'nat', chain: CHAIN.ingress, rule: { target: { name: 'RETURN' } }, placement: 'append' },
    { table: 'filter', chain: CHAIN.ingress, rule: { target: { name: 'RETURN' } }, placement: 'append' },
    { table: 'nat', chain: 'OUTPUT', rule: toIngress, placement: 'first' },
    { table: 'nat', chain: 'PREROUTING', rule: toIngress, placement: 'first' },
    { table: 'filter', chain: CHAIN.forward, rule: { target: jump(CHAIN.ingress) }, placement: 'first' },
    {
      table: 'nat', chain: 'POSTROUTING', placement: 'insert',
      rule: { outInterface: ingress.bridge, matches: [LOCAL_SOURCE], target: { name: 'MASQUERADE' } },
    },
  ];
}

/** generateIngressRules, each inserted at the head of DOCKER-INGRESS. */
export function ingressPortRules(ingress: IngressModel, port: IngressPortModel): RuleChange[] {
  const protocol = port.proto;
  return [
    {
      table: 'nat', chain: CHAIN.ingress, placement: 'insert',
      rule: {
        protocol, matches: destinationPort(protocol, port.port),
        target: { name: 'DNAT', toAddress: ingress.address, toPort: port.port },
      },
    },
    {
      table: 'filter', chain: CHAIN.ingress, placement: 'insert',
      rule: {
        protocol,
        matches: [{ name: protocol, sourcePort: port.port }, REPLIES],
        target: { name: 'ACCEPT' },
      },
    },
    {
      table: 'filter', chain: CHAIN.ingress, placement: 'insert',
      rule: { protocol, matches: destinationPort(protocol, port.port), target: { name: 'ACCEPT' } },
    },
  ];
}

/**
 * The matches of `-p proto --dport port`, which iptables stores as
 * `-p proto -m proto --dport port`. Spelt out in each rule rather than spread
 * into it: V8 gives every object built as `{ ...spread, more }` a hidden class
 * of its own, and tens of thousands of such rules make every later read of
 * them (formatting, encoding) a slow megamorphic lookup.
 */
function destinationPort(protocol: PortProtocol, port: number): IptMatch[] {
  return [{ name: protocol, destinationPort: port }];
}

function natTarget(nat: SourceNat): IptRule['target'] {
  return nat.kind === 'masquerade' ? { name: 'MASQUERADE' } : { name: 'SNAT', toAddress: nat.toSource };
}

function icmpProtocol(family: Family): IptProtocol {
  return family === 'ipv4' ? 'icmp' : 'ipv6-icmp';
}

function jump(chain: string): IptRule['target'] {
  return { name: 'jump', chain };
}

/**
 * The model's decisions translated into the nftables layout (see layout.ts),
 * one table image per family. Each iptables rule of Docker's layout
 * (src/docker/iptables/rules.ts) has its counterpart here, either a rule of a
 * chain or an element of a set, with the same effect on every packet.
 *
 * Stage order in the forward hook follows Docker's FORWARD chain: DOCKER-USER,
 * DOCKER-INGRESS, DOCKER-CT, DOCKER-INTERNAL, DOCKER (through DOCKER-BRIDGE),
 * then the per-network rules of DOCKER-FORWARD.
 */
import type { BindingRun, FamilyModel, FirewallModel, IngressModel, NetworkModel, PortBindingModel } from '../../docker/model.js';
import type { Family } from '../../family.js';
import type { Field } from '../../nft/concat.js';
import { VERDICT } from '../../nft/constants.js';
import type { KeyPart } from '../../nft/keys.js';
import { emptyImage, signatureOf, type ChainImage, type TableImage } from './image.js';
import {
  BASE_CHAINS, CHAIN, FAMILY_TABLES, INGRESS_SET, INGRESS_SET_KEY, networkChain, rangeSetOf, setsOf, TABLE, USER_CHAIN, type NetworkRole,
  type SetDeclaration,
} from './layout.js';
import { addressKeyword, phrase, rule, type NftRule } from './phrase.js';
import { PROTOCOL_NUMBERS } from '../../protocol.js';
import { hostKeyedOnly, rangePieces } from './range-pieces.js';
import { ElementsPacker, SetElements } from './set-elements.js';

const PORT: Field = 'th dport';
const LINK_LOCAL_V6 = 'fe80::/10';
const PROTO: Field = 'meta l4proto';

/** The desired table of every family the model enables. */
export function planNftables(model: FirewallModel): TableImage[] {
  return model.families.map((family) =>
    planFamily(family, family.family === 'ipv4' ? model.ingress : undefined));
}

class TableBuilder {
  private readonly image: TableImage;
  /** Each set's elements, packed as they are planned (set-elements.ts). */
  private readonly elements = new Map<string, ElementsPacker>();

  constructor(readonly family: Family) {
    this.image = emptyImage(FAMILY_TABLES[family], TABLE);
    for (const [name, declaration] of Object.entries(setsOf(family))) this.set(name, declaration);
  }

  set(name: string, declaration: SetDeclaration): void {
    this.image.sets.set(name, { name, ...declaration, elements: SetElements.empty(declaration) });
    this.elements.set(name, new ElementsPacker(declaration));
  }

  chain(name: string, rules: readonly NftRule[], extra: Partial<ChainImage> = {}): void {
    this.image.chains.set(name, {
      name, userOwned: false, ...extra,
      rules: rules.map((r) => ({ ...r, signature: signatureOf(r.exprs, r.comment) })),
    });
  }

  /** Takes an element of a set or map of data. */
  readonly element: ElementSink = (set, key, value, keyEnd) => this.elements.get(set)!.add(key, keyEnd, value);

  /** Takes the elements of a run of bindings. */
  readonly portRun: RunSink = (set, keyPrefix, ports, valuePrefix, valuePorts) =>
    this.elements.get(set)!.addPortRun(keyPrefix, ports, valuePrefix, valuePorts);

  /** Takes an element of a verdict map that jumps to `chain`. */
  jump(map: string, key: readonly KeyPart[], chain: string): void {
    this.elements.get(map)!.add(key, undefined, undefined, { code: VERDICT.jump, chain });
  }

  finish(): TableImage {
    for (const [name, packer] of this.elements) this.image.sets.set(name, { ...this.image.sets.get(name)!, elements: packer.finish() });
    return this.image;
  }

  /** A per-network chain and the map element that jumps to it. */
  networkChain(role: NetworkRole, network: NetworkModel, rules: readonly NftRule[]): void {
    const name = networkChain(role, network.bridge);
    this.chain(name, rules);
    this.jump(role, [network.bridge], name);
  }
}

function planFamily(family: FamilyModel, ingress: IngressModel | undefined): TableImage {
  const table = new TableBuilder(family.family);
  const f = family.family;
  const address: Field = `${addressKeyword(f)} daddr`;
  const source: Field = `${addressKeyword(f)} saddr`;

  if (ingress) table.set(INGRESS_SET, { key: INGRESS_SET_KEY });
  const ingressDnat = ingress
    ? [rule([phrase.fibDaddrLocal(), phrase.inSet([PROTO, PORT], INGRESS_SET), phrase.dnat(ingress.address)], 'swarm ingress')]
    : [];
  const toPublished = rule([phrase.fibDaddrLocal(), phrase.jump(CHAIN.dnat)]);
  const fromHost = family.proxiedLoopback === undefined
    ? toPublished
    // Host-local traffic to loopback is left to the userland proxy.
    : rule([phrase.daddr(f, family.proxiedLoopback, true), phrase.fibDaddrLocal(), phrase.jump(CHAIN.dnat)]);

  table.chain('raw-prerouting', [
    rule([phrase.iifname('lo', true), phrase.inSet([address, PROTO, PORT], 'loopback-ports'), phrase.drop()], 'loopback-bound ports'),
    rule([phrase.iifname('lo', true), phrase.inSet([address, PROTO, PORT], rangeSetOf('loopback-ports'), true), phrase.drop()], 'loopback-bound ports'),
    rule([phrase.verdictMap(address, 'direct-access')]),
  ], { base: BASE_CHAINS['raw-prerouting'] });
  table.chain('nat-prerouting', [...ingressDnat, toPublished], { base: BASE_CHAINS['nat-prerouting'] });
  table.chain('nat-output', [...ingressDnat, fromHost], { base: BASE_CHAINS['nat-output'] });
  table.chain(CHAIN.dnat, [
    // Link-local sources are never DNATed (Docker excludes them in every IPv6 binding's rule): a family-wide rule, so that a mapping stays elements only.
    ...(f === 'ipv6' ? [rule([phrase.saddr(f, LINK_LOCAL_V6), phrase.return()])] : []),
    rule([phrase.inSet(['iifname', address, PROTO, PORT], 'dnat-skip-by-address'), phrase.return()], 'from the container\'s own bridge'),
    rule([phrase.inSet(['iifname', PROTO, PORT], 'dnat-skip-any-address'), phrase.return()], 'from the container\'s own bridge'),
    rule([phrase.inSet(['iifname', address, PROTO, PORT], rangeSetOf('dnat-skip-by-address'), true), phrase.return()], 'from the container\'s own bridge'),
    rule([phrase.inSet(['iifname', PROTO, PORT], rangeSetOf('dnat-skip-any-address'), true), phrase.return()], 'from the container\'s own bridge'),
    rule([phrase.dnatFromMap(f, [address, PROTO, PORT], 'dnat-by-address')]),
    rule([phrase.dnatFromMap(f, [PROTO, PORT], 'dnat-any-address')]),
    rule([phrase.dnatFromMap(f, [address, PROTO, PORT], rangeSetOf('dnat-by-address'), true)]),
    rule([phrase.dnatFromMap(f, [PROTO, PORT], rangeSetOf('dnat-any-address'), true)]),
  ]);
  table.chain('nat-postrouting', [
    ...(ingress ? [rule([phrase.oifname(ingress.bridge), phrase.fibSaddrLocal(), phrase.sourceNat({ kind: 'masquerade' })], 'swarm ingress')] : []),
    rule([phrase.inSet([source, address, PROTO, PORT], 'hairpin-masquerade'), phrase.sourceNat({ kind: 'masquerade' })], 'hairpin'),
    rule([phrase.inSet([source, address, PROTO, PORT], rangeSetOf('hairpin-masquerade'), true), phrase.sourceNat({ kind: 'masquerade' })], 'hairpin'),
    rule([phrase.verdictMap('oifname', 'nat-into')]),
    rule([phrase.verdictMap('iifname', 'nat-from')]),
  ], { base: BASE_CHAINS['nat-postrouting'] });
  table.chain('forward', [
    rule([phrase.jump(USER_CHAIN)]),
    ...(ingress ? [rule([phrase.jump(CHAIN.ingressForward)])] : []),
    rule([phrase.replies(), phrase.inSet(['oifname'], 'conntrack-bridges'), phrase.accept()]),
    rule([phrase.verdictMap('iifname', 'internal-from')]),
    rule([phrase.verdictMap('oifname', 'internal-into')]),
    rule([phrase.verdictMap('oifname', 'forward-into')]),
    rule([phrase.verdictMap('iifname', 'forward-from')]),
  ], { base: BASE_CHAINS.forward });
  table.chain(USER_CHAIN, [], { userOwned: true });
  if (ingress) {
    table.chain(CHAIN.ingressForward, [
      rule([phrase.inSet([PROTO, PORT], INGRESS_SET), phrase.accept()]),
      rule([phrase.replies(), phrase.inSet([PROTO, 'th sport'], INGRESS_SET), phrase.accept()]),
    ]);
    for (const port of ingress.ports) table.element(INGRESS_SET, [PROTOCOL_NUMBERS[port.proto], port.port]);
  }
  for (const network of family.networks) planNetwork(table, network);
  return table.finish();
}

function planNetwork(table: TableBuilder, network: NetworkModel): void {
  const f = network.family;
  const bridge = network.bridge;
  if (network.internal) {
    // IPv6 also lets traffic staying on the bridge through, as Docker's ip6tables rules do.
    const stays = f === 'ipv6';
    table.networkChain('internal-from', network, [
      rule([...(stays ? [phrase.oifname(bridge, true)] : []), phrase.daddr(f, network.subnet, true), phrase.drop()]),
    ]);
    table.networkChain('internal-into', network, [
      rule([...(stays ? [phrase.iifname(bridge, true)] : []), phrase.saddr(f, network.subnet, true), phrase.drop()]),
    ]);
    table.networkChain('forward-from', network, [rule([phrase.oifname(bridge), phrase.verdict(network.icc ? 'ACCEPT' : 'DROP')], 'icc')]);
    return;
  }
  table.element('conntrack-bridges', [bridge]);
  table.networkChain('forward-into', network, [
    rule([phrase.iifname(bridge, true), phrase.inSet([`${addressKeyword(f)} daddr`, PROTO, PORT], 'forward-ports'), phrase.accept()], 'published'),
    rule([phrase.iifname(bridge, true), phrase.inSet([`${addressKeyword(f)} daddr`, PROTO, PORT], rangeSetOf('forward-ports'), true), phrase.accept()],
      'published'),
    ...(network.acceptIcmp ? [rule([phrase.icmp(f), phrase.accept()])] : []),
    rule([phrase.iifname(bridge, true), phrase.verdict(network.defaultInbound)], 'unpublished'),
  ]);
  table.networkChain('forward-from', network, [
    ...(network.icc ? [] : [rule([phrase.oifname(bridge), phrase.drop()], 'icc')]),
    rule([...(network.icc ? [] : [phrase.oifname(bridge, true)]), phrase.accept()], 'outgoing'),
  ]);
  if (network.outboundNat) {
    table.networkChain('nat-from', network, [
      rule([phrase.oifname(bridge, true), phrase.saddr(f, network.subnet), phrase.sourceNat(network.outboundNat)]),
    ]);
  }
  if (network.localHostNat) {
    table.networkChain('nat-into', network, [rule([phrase.fibSaddrLocal(), phrase.sourceNat(network.localHostNat)], 'from the host')]);
  }
  if (network.dropDirectAccess) {
    const chain = networkChain('direct-access', bridge);
    table.chain(chain, [rule([phrase.iifname(bridge, true), phrase.drop()])]);
    for (const endpoint of network.endpoints) table.jump('direct-access', [endpoint.address], chain);
  }
  // Identity ranges' container-keyed elements are pieces of all the endpoint's ranges (range-pieces.ts), cut once.
  // In no particular order: a set's elements have none, and an element planned twice is one (ElementsPacker).
  for (const endpoint of network.endpoints) {
    let ranges = false;
    endpoint.forEachRun((run) => {
      if (run.first.lastPort === undefined) runElements(bridge, run, table.portRun);
      else {
        ranges = true;
        bindingElements(bridge, run.first, hostKeyedOnly(table.element));
      }
    });
    if (ranges) rangePieces(bridge, endpoint.bindings, table.element);
  }
}

/** Receives one element of a set or map of the layout; `keyEnd` closes the range of an interval set's element. */
export type ElementSink = (set: string, key: readonly KeyPart[], value?: readonly KeyPart[], keyEnd?: readonly KeyPart[]) => void;

/**
 * One element a port binding puts in a set, but for its ports: every key
 * ends with a port, the binding's host port or its container port, and a
 * DNAT map's value is an address and the container port. What a binding
 * plans is decided by its fields but its ports, so a run of bindings alike
 * but for their ports (BindingRun) has one set of shapes.
 */
export interface ElementShape {
  set: string;
  /** The key without the port it ends with. */
  keyPrefix: readonly KeyPart[];
  /** Which of the binding's ports ends the key. */
  port: 'host' | 'container';
  /** A DNAT map's value: this address, and the container port. */
  toAddress?: string;
}

/**
 * The shapes of the elements one port binding puts in its family's table:
 * a mapping is elements only, never a rule.
 */
export function bindingShapes(bridge: string, binding: PortBindingModel): ElementShape[] {
  const proto = PROTOCOL_NUMBERS[binding.proto];
  const { hostAddress, containerAddress } = binding;
  const shapes: ElementShape[] = [];
  if (binding.hostPort !== undefined) {
    if (binding.dropNonLoopback) shapes.push({ set: 'loopback-ports', keyPrefix: [hostAddress!, proto], port: 'host' });
    if (hostAddress === undefined) {
      shapes.push({ set: 'dnat-any-address', keyPrefix: [proto], port: 'host', toAddress: containerAddress });
      if (binding.dnatSkipsBridge) shapes.push({ set: 'dnat-skip-any-address', keyPrefix: [bridge, proto], port: 'host' });
    } else {
      shapes.push({ set: 'dnat-by-address', keyPrefix: [hostAddress, proto], port: 'host', toAddress: containerAddress });
      if (binding.dnatSkipsBridge) shapes.push({ set: 'dnat-skip-by-address', keyPrefix: [bridge, hostAddress, proto], port: 'host' });
    }
  }
  if (binding.hairpinMasquerade) shapes.push({ set: 'hairpin-masquerade', keyPrefix: [containerAddress, containerAddress, proto], port: 'container' });
  if (binding.acceptForward) shapes.push({ set: 'forward-ports', keyPrefix: [containerAddress, proto], port: 'container' });
  return shapes;
}

/**
 * Receives the elements of a run of bindings, one a port: each key is
 * `keyPrefix` and the port, each value (a map's) `valuePrefix` and the
 * value port of the same place.
 */
export type RunSink = (
  set: string, keyPrefix: readonly KeyPart[], ports: readonly number[], valuePrefix?: readonly KeyPart[], valuePorts?: readonly number[],
) => void;

/** The elements a run of bindings puts in its family's table (its first binding's shapes, with each binding's ports); not for an identity range held whole. */
export function runElements(bridge: string, run: BindingRun, sink: RunSink): void {
  for (const { set, keyPrefix, port, toAddress } of bindingShapes(bridge, run.first)) {
    sink(set, keyPrefix, port === 'host' ? run.hostPorts! : run.containerPorts, toAddress === undefined ? undefined : [toAddress], run.containerPorts);
  }
}

/**
 * The elements one port binding puts in its family's table (its shapes
 * with its ports). An identity range is one element of each range set,
 * from its first port to its last, and its DNAT gives the address alone,
 * so each port stays as it is (its container-keyed elements are cut where
 * identity ranges of its container overlap: range-pieces.ts).
 */
export function bindingElements(bridge: string, binding: PortBindingModel, emit: ElementSink): void {
  const { hostPort, containerPort, lastPort } = binding;
  for (const { set, keyPrefix, port, toAddress } of bindingShapes(bridge, binding)) {
    const key = [...keyPrefix, port === 'host' ? hostPort! : containerPort];
    if (lastPort === undefined) emit(set, key, toAddress === undefined ? undefined : [toAddress, containerPort]);
    else emit(rangeSetOf(set), key, toAddress === undefined ? undefined : [toAddress], [...keyPrefix, lastPort]);
  }
}

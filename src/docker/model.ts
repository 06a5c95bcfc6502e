/**
 * The backend-neutral model of Docker's bridge firewall: a validated spec
 * turned into per-family networks, endpoints and port bindings, with every
 * Docker decision (masquerade or SNAT, hairpin, direct-access protection,
 * which bindings get DNAT, ...) taken here once. The iptables planner and the
 * nftables backend only translate these decisions into rules.
 */
import { FAMILIES, type Family } from '../family.js';
import { canonicalAddress, compareAddresses } from '../address.js';
import type { NetworkView, SpecView } from '../held/packed.js';
import { PortList } from '../held/port-list.js';
import type { IngressSpec, PortProtocol, PortSpec } from '../input/types.js';
import { PROTOCOL_NUMBERS } from '../protocol.js';

export interface FirewallModel {
  /** The enabled families, IPv4 first. */
  families: FamilyModel[];
  /** Swarm's routing mesh; IPv4 only, as in Docker. */
  ingress?: IngressModel;
  /** Kernel settings the rules depend on, written before the rules. */
  sysctls: Sysctl[];
  /**
   * Bridges whose ports need hairpin mode (userland proxy off), so a
   * container's packets to its own published port may leave by the port
   * they came in on. Docker sets it on each veth as it attaches it.
   */
  hairpinBridges: string[];
}

export interface Sysctl {
  /** The entry under /proc/sys by component, e.g. net, ipv4, conf, docker_gwbridge, route_localnet (a bridge name may hold dots). */
  path: readonly string[];
  value: string;
  /** The interface a per-interface entry (net.*.conf.NAME.*) is for; it is checked to be one before anything is written. */
  interface?: string;
}

export interface FamilyModel {
  family: Family;
  /**
   * The userland proxy is off (`--userland-proxy=false`), so NAT must handle
   * traffic from the host and from containers to published ports ("hairpin").
   */
  hairpin: boolean;
  /**
   * Host-local traffic to these addresses is left to the userland proxy: the
   * nat OUTPUT jump excludes them. Absent in hairpin mode, when NAT handles it.
   */
  proxiedLoopback?: string;
  networks: NetworkModel[];
}

export type SourceNat = { kind: 'masquerade' } | { kind: 'snat'; toSource: string };

export interface NetworkModel {
  /** Unique, and what every rule of the network mentions. */
  bridge: string;
  family: Family;
  /** `network/prefix` */
  subnet: string;
  /** Internal (or gateway mode isolated): no traffic in or out of the subnet, nothing else. */
  internal: boolean;
  icc: boolean;
  /** NAT for traffic leaving the subnet; absent when it leaves with the containers' addresses. */
  outboundNat?: SourceNat;
  /** NAT for host-originated traffic into the bridge (hairpin only), so replies return through the host. */
  localHostNat?: SourceNat;
  /** Routed mode: ICMP into the bridge is accepted (containers are addressed directly). */
  acceptIcmp: boolean;
  /** Traffic into the bridge that no per-port rule accepted: dropped, or accepted in nat-unprotected mode. */
  defaultInbound: 'ACCEPT' | 'DROP';
  /** Packets addressed straight to a container from outside the bridge are dropped (nat mode only). */
  dropDirectAccess: boolean;
  endpoints: EndpointModel[];
}

export interface EndpointModel {
  address: string;
  /** In Docker's port-mapping order (see `compareBindings`), each binding once. */
  readonly bindings: PortBindingModel[];
  /**
   * Visits the same bindings as runs, in the order of the endpoint's ports,
   * a binding listed twice twice, without ordering them or building each:
   * for a backend to which order means nothing, a binding twice is
   * harmless, and a binding's fields but its ports decide what it plans
   * (nftables elements).
   */
  forEachRun(visit: (run: BindingRun) => void): void;
}

/**
 * Bindings alike but for their ports: those of consecutive ports of an
 * endpoint with one protocol and host address, each with a host port or
 * each without. An identity range held whole is a run of its own.
 */
export interface BindingRun {
  /** The first binding; each other is the same binding with its own ports. */
  first: PortBindingModel;
  /** The container port of each binding, `first`'s first. */
  containerPorts: number[];
  /** The host port of each binding; absent when they have none. */
  hostPorts?: number[];
}

export interface PortBindingModel {
  /**
   * `proto hostAddress:hostPort>containerAddress:containerPort` (`*` = every
   * host address, `-` = no host port): unique within its family, the binding's
   * identity where bindings are compared (a port listed twice, port changes,
   * conntrack).
   */
  key: string;
  proto: PortProtocol;
  containerAddress: string;
  containerPort: number;
  /** Absent: every address of the family. */
  hostAddress?: string;
  /** Absent: nothing is translated, the container port is only opened for direct routing. */
  hostPort?: number;
  /** Traffic from the bridge itself is left to the userland proxy rather than DNATed (not in hairpin mode). */
  dnatSkipsBridge: boolean;
  /** Link-local sources are never DNATed (IPv6). */
  dnatExcludedSource?: string;
  /** Hairpin mode: a container reaching its own published port is masqueraded so replies come back. */
  hairpinMasquerade: boolean;
  /** A port published on an IPv4 loopback address drops packets arriving from other interfaces. */
  dropNonLoopback: boolean;
  /** Forwarding to the container port is accepted (not needed when the network accepts everything). */
  acceptForward: boolean;
  /**
   * An identity range as one binding: host ports equal to container ports,
   * from `hostPort` (= `containerPort`) to this one. Only in models for a
   * backend that holds a range as one element (`holdsRangesWhole`); Docker
   * programs every port of a range, and so do the other backends.
   */
  lastPort?: number;
}

export interface IngressModel {
  bridge: string;
  /** The ingress sandbox's address, where published ports are DNATed to. */
  address: string;
  ports: IngressPortModel[];
}

export interface IngressPortModel {
  proto: PortProtocol;
  port: number;
}

const FAMILY_LOOPBACK: Record<Family, string> = { ipv4: '127.0.0.0/8', ipv6: '::1/128' };
const LINK_LOCAL_V6 = 'fe80::/10';

/** Whether the spec's backend holds an identity range as one element (nftables: an interval element per set). */
export function holdsRangesWhole(spec: Pick<SpecView, 'backend'>): boolean {
  return spec.backend === 'nftables';
}

/** An identity range: more than one port, each published on the same port number. */
export function isIdentityRange(port: PortSpec): boolean {
  const { hostPort, containerPort } = port;
  return containerPort.last > containerPort.first && hostPort?.first === containerPort.first && hostPort.last === containerPort.last;
}

export function buildModel(spec: SpecView): FirewallModel {
  const families = FAMILIES
    .filter((family) => spec[family])
    .map((family) => buildFamily(spec, family));
  const model: FirewallModel = { families, ...hostSettingsOf(spec) };
  if (spec.ingress && spec.ipv4) model.ingress = buildIngress(spec.ingress);
  return model;
}

/** The host settings of a spec: they depend on its networks and ingress, never on its ports. */
export function hostSettingsOf(spec: SpecView): Pick<FirewallModel, 'sysctls' | 'hairpinBridges'> {
  return {
    sysctls: hostSysctls(spec),
    hairpinBridges: spec.userlandProxy ? [] : spec.networks.map((network) => network.bridge),
  };
}

/**
 * The kernel settings Docker's bridge driver makes for the rules to work
 * (moby bridge_linux.go createNetwork): route_localnet where traffic from the
 * host's 127.0.0.1 is DNATed into a bridge, and br_netfilter's
 * bridge-nf-call-ip(6)tables where bridged traffic must meet the rules (ICC
 * off, or hairpin NAT without the userland proxy).
 */
function hostSysctls(spec: SpecView): Sysctl[] {
  const sysctls: Sysctl[] = [];
  const routeLocalnet = (bridge: string): Sysctl => ({ path: ['net', 'ipv4', 'conf', bridge, 'route_localnet'], value: '1', interface: bridge });
  if (!spec.userlandProxy && spec.ipv4) {
    for (const network of spec.networks) if (network.ipv4) sysctls.push(routeLocalnet(network.bridge));
  }
  if (spec.ingress && spec.ipv4 && !sysctls.some((s) => s.path[3] === spec.ingress!.bridge)) {
    // The DNAT to the ingress sandbox must also work for traffic the host sends to its own 127.0.0.1.
    sysctls.push(routeLocalnet(spec.ingress.bridge));
  }
  const bridgeFiltering = !spec.userlandProxy || spec.networks.some((network) => !network.icc);
  if (bridgeFiltering && spec.ipv4) sysctls.push({ path: ['net', 'bridge', 'bridge-nf-call-iptables'], value: '1' });
  if (bridgeFiltering && spec.ipv6) sysctls.push({ path: ['net', 'bridge', 'bridge-nf-call-ip6tables'], value: '1' });
  return sysctls;
}

function buildFamily(spec: SpecView, family: Family): FamilyModel {
  const hairpin = !spec.userlandProxy;
  const model: FamilyModel = {
    family,
    hairpin,
    networks: spec.networks.flatMap((network) => {
      const built = buildNetwork(network, family, hairpin, holdsRangesWhole(spec));
      return built ? [built] : [];
    }),
  };
  if (!hairpin) model.proxiedLoopback = FAMILY_LOOPBACK[family];
  return model;
}

function buildNetwork(spec: NetworkView, family: Family, hairpin: boolean, wholeRanges: boolean): NetworkModel | undefined {
  const network = networkModelOf(spec, family, hairpin);
  if (!network) return undefined;
  network.endpoints = spec.endpoints.flatMap((endpoint) => {
    const address = endpoint[family];
    if (address === undefined) return [];
    // A copy (12 bytes a port): the held spec's ports change in place, the model must not.
    const ports = PortList.copyOf(endpoint.ports);
    return [new Endpoint(address, (visit) => forEachBindingRun(ports, address, network, hairpin, wholeRanges, visit))];
  });
  return network;
}

/**
 * An endpoint whose ordered bindings are built when first asked for: the
 * nftables backend never asks, and building and ordering 10,000 bindings
 * was a fifth of what a fresh process spent before its first commit.
 */
class Endpoint implements EndpointModel {
  #bindings: PortBindingModel[] | undefined;

  constructor(readonly address: string, readonly forEachRun: (visit: (run: BindingRun) => void) => void) {}

  get bindings(): PortBindingModel[] {
    if (this.#bindings === undefined) {
      const bindings: PortBindingModel[] = [];
      this.forEachRun((run) => eachOfRun(run, (binding) => bindings.push(binding)));
      this.#bindings = withoutRepeats(bindings.sort(compareBindings));
    }
    return this.#bindings;
  }
}

/** The network's model in `family` without its endpoints; undefined when it has no subnet there. */
export function networkModelOf(spec: Omit<NetworkView, 'endpoints'>, family: Family, hairpin: boolean): NetworkModel | undefined {
  const subnet = spec[family];
  if (!subnet) return undefined;
  const internal = spec.internal || spec.gatewayMode === 'isolated';
  const routed = spec.gatewayMode === 'routed';
  const unprotected = spec.gatewayMode === 'nat-unprotected';
  const sourceNat: SourceNat = subnet.hostIp === undefined
    ? { kind: 'masquerade' }
    : { kind: 'snat', toSource: subnet.hostIp };
  const network: NetworkModel = {
    bridge: spec.bridge,
    family,
    subnet: subnet.subnet,
    internal,
    icc: spec.icc,
    acceptIcmp: !internal && routed,
    defaultInbound: unprotected ? 'ACCEPT' : 'DROP',
    dropDirectAccess: !internal && !routed && !unprotected,
    endpoints: [],
  };
  if (!internal && spec.masquerade && !routed) network.outboundNat = sourceNat;
  if (!internal && hairpin) network.localHostNat = sourceNat;
  return network;
}

/**
 * The same binding listed twice is one binding, as its rules would be. Equal
 * bindings compare equal, so after the (stable) sort each repeat follows its
 * first listing within a run that compares equal: only there are keys
 * spelled out, and a bulk of distinct ports builds none.
 */
function withoutRepeats(sorted: readonly PortBindingModel[]): PortBindingModel[] {
  const unique: PortBindingModel[] = [];
  for (const binding of sorted) {
    let repeat = false;
    for (let i = unique.length - 1; i >= 0 && !repeat && compareBindings(unique[i]!, binding) === 0; i--) repeat = unique[i]!.key === binding.key;
    if (!repeat) unique.push(binding);
  }
  return unique;
}

/**
 * Visits the bindings of ports in one family as runs (see BindingRun), as
 * they come: in no particular order, and a binding listed twice comes
 * twice. Each run's first binding is built; the others are ports only. A
 * loop calling back rather than a generator: a fresh process runs this
 * interpreted, where a generator's every step costs more than a port.
 */
export function forEachBindingRun(
  ports: PortList, containerAddress: string, network: NetworkModel, hairpin: boolean, wholeRanges: boolean,
  visit: (run: BindingRun) => void,
): void {
  // Internal networks have no way in, so Docker programs nothing for their ports.
  if (network.internal) return;
  for (let start = 0, end: number; start < ports.length; start = end) {
    end = ports.runEnd(start, wholeRanges);
    const port = ports.get(start);
    const hostAddress = hostAddressIn(port, network.family);
    // Every port of the run has the host address of its first: none of the run is published in this family.
    if (hostAddress === null) continue;
    // Only a port published on an IPv4 loopback address drops packets arriving from other interfaces.
    const loopback = port.hostPort !== undefined && network.family === 'ipv4' && hostAddress !== undefined && canonicalAddress(hostAddress)?.loopback === true;
    const whole = wholeRanges && isIdentityRange(port);
    const run: BindingRun = {
      first: buildBinding(port, containerAddress, hostAddress, loopback, network, hairpin, whole ? port.containerPort.last : undefined),
      containerPorts: [],
    };
    if (port.hostPort !== undefined) run.hostPorts = [];
    // An identity range held whole is one binding, of its first ports.
    if (whole) {
      run.containerPorts.push(port.containerPort.first);
      run.hostPorts!.push(port.hostPort!.first);
    } else {
      ports.appendPorts(start, end, run.containerPorts, run.hostPorts);
    }
    visit(run);
  }
}

/** Visits each binding of a run. */
export function eachOfRun(run: BindingRun, visit: (binding: PortBindingModel) => void): void {
  const { first, containerPorts, hostPorts } = run;
  visit(first);
  for (let i = 1; i < containerPorts.length; i++) visit(withPorts(first, hostPorts?.[i], containerPorts[i]!));
}

/** The bindings of ports in one family as they come (see forEachBindingRun). */
export function bindingsIn(
  ports: Iterable<PortSpec>, containerAddress: string, network: NetworkModel, hairpin: boolean, wholeRanges: boolean,
): PortBindingModel[] {
  const bindings: PortBindingModel[] = [];
  forEachBindingRun(PortList.copyOf(ports), containerAddress, network, hairpin, wholeRanges, (run) => eachOfRun(run, (binding) => bindings.push(binding)));
  return bindings;
}

/**
 * The binding's host address in `family`: undefined for every address of the
 * family, null when the port is not published there. A host address is of
 * one family, `0.0.0.0` and `::` included (see familiesOf).
 */
export function hostAddressIn(port: PortSpec, family: Family): string | undefined | null {
  if (port.hostIp === undefined) return undefined;
  const hostIp = canonicalAddress(port.hostIp);
  if (hostIp?.family !== family) return null;
  return hostIp.unspecified ? undefined : port.hostIp;
}

/** The binding of the port's first container port. */
function buildBinding(
  port: PortSpec, containerAddress: string, hostAddress: string | undefined, dropNonLoopback: boolean,
  network: NetworkModel, hairpin: boolean, lastPort?: number,
): PortBindingModel {
  const hostPort = port.hostPort?.first;
  const binding = new PortBinding(
    port.proto, containerAddress, port.containerPort.first, !hairpin, hairpin && hostPort !== undefined, dropNonLoopback,
    network.defaultInbound === 'DROP',
  );
  if (hostAddress !== undefined) binding.hostAddress = hostAddress;
  if (hostPort !== undefined) binding.hostPort = hostPort;
  if (lastPort !== undefined) binding.lastPort = lastPort;
  if (network.family === 'ipv6') binding.dnatExcludedSource = LINK_LOCAL_V6;
  return binding;
}

/** `binding` (a run's first) with other ports. */
function withPorts(binding: PortBindingModel, hostPort: number | undefined, containerPort: number): PortBindingModel {
  const rebound = new PortBinding(
    binding.proto, binding.containerAddress, containerPort, binding.dnatSkipsBridge, binding.hairpinMasquerade, binding.dropNonLoopback,
    binding.acceptForward,
  );
  if (binding.hostAddress !== undefined) rebound.hostAddress = binding.hostAddress;
  if (hostPort !== undefined) rebound.hostPort = hostPort;
  if (binding.dnatExcludedSource !== undefined) rebound.dnatExcludedSource = binding.dnatExcludedSource;
  return rebound;
}

/**
 * A binding whose key is spelled out when first asked for: a bulk's
 * bindings are built by the hundred thousand (twice: for the elements and
 * for conntrack) and most are never compared, and building every key took
 * nearly half of what building them allocated.
 */
class PortBinding implements PortBindingModel {
  declare hostAddress?: string;
  declare hostPort?: number;
  declare dnatExcludedSource?: string;
  declare lastPort?: number;
  #key: string | undefined;

  constructor(
    readonly proto: PortProtocol,
    readonly containerAddress: string,
    readonly containerPort: number,
    readonly dnatSkipsBridge: boolean,
    readonly hairpinMasquerade: boolean,
    readonly dropNonLoopback: boolean,
    readonly acceptForward: boolean,
  ) {}

  get key(): string {
    if (this.#key === undefined) {
      const through = this.lastPort === undefined ? '' : `-${this.lastPort}`;
      const hostSide = this.hostPort === undefined ? '-' : `${this.hostAddress ?? '*'}:${this.hostPort}${through}`;
      this.#key = `${this.proto} ${hostSide}>${this.containerAddress}:${this.containerPort}${through}`;
    }
    return this.#key;
  }
}

/** IANA protocol numbers: Docker orders bindings by its protocol enum, which uses them. */

/**
 * Docker's `PortBindingReq.Compare`, which fixes the order bindings are
 * programmed in (so the order of their rules): bindings with a host port
 * first, then by container port, protocol, host port and host address.
 * Within one family and network the port mapper and container address are
 * the same for every binding, so they never decide.
 */
export function compareBindings(a: PortBindingModel, b: PortBindingModel): number {
  const aHasHostPort = a.hostPort !== undefined;
  const bHasHostPort = b.hostPort !== undefined;
  if (aHasHostPort !== bHasHostPort) return aHasHostPort ? -1 : 1;
  return a.containerPort - b.containerPort ||
    PROTOCOL_NUMBERS[a.proto] - PROTOCOL_NUMBERS[b.proto] ||
    (a.hostPort ?? 0) - (b.hostPort ?? 0) ||
    compareAddresses(a.hostAddress, b.hostAddress);
}

function buildIngress(spec: IngressSpec): IngressModel {
  return {
    bridge: spec.bridge,
    address: spec.address,
    ports: spec.ports.map((port) => ({ proto: port.proto, port: port.port })),
  };
}

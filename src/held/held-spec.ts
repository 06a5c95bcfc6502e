/**
 * The spec a Firewall holds: validated, with the ledger of its published
 * ports, and edited in place by port calls. Publishing ports validates only
 * those ports; each edit can be undone, so that a commit the kernel refuses
 * leaves the spec as the kernel has it.
 */
import { invalid, ValidationError } from '../errors.js';
import { canonicalAddress } from '../address.js';
import {
  allocateHostPorts, choosesHostPorts, chosenFor, endpointsOf, leavesHostPortToChoose, LINUX_EPHEMERAL_PORTS,
  type EphemeralPorts, type HostPortAllocation, type PendingHostPort,
} from '../input/host-ports.js';
import type { PackedEndpoint, PackedNetwork, PackedSpec } from './packed.js';
import { PortList } from './port-list.js';
import { familiesOf, portCount, rangeInput, type PortLedger } from './ledger.js';
import type { EndpointSpecInput, PortInput, PortRange, PortSpec, PortSpecInput, SpecInput } from '../input/types.js';
import { parseSpecWithPorts, publishPorts, readPort } from '../input/validate.js';

export type EndpointRef = Pick<EndpointSpecInput, 'ipv4' | 'ipv6'>;

/** What one port call changed in the endpoint's ports. */
export interface PortEdit {
  network: PackedNetwork;
  endpoint: PackedEndpoint;
  /** Ports published, appended to the endpoint's. */
  added: PortList;
  /** Entries taken out of the endpoint's ports, with their positions before the edit, ascending. */
  removed: { port: PortSpec; index: number }[];
  /** What is left of the removed entries (a range split where ports were unpublished), appended before `added`. */
  left: PortList;
  /** The mappings no longer published: the removed entries but for what is left of them. */
  unpublished: PortSpec[];
  /** Host ports chosen for added ports published without one, by the caller's field (`ports[0]`). */
  allocations: HostPortAllocation[];
}

export class HeldSpec {
  private constructor(
    readonly spec: PackedSpec,
    private readonly ports: PortLedger,
    /** Where host ports are chosen from: the namespace's ephemeral ports. */
    private readonly ephemeral: EphemeralPorts,
    /** The host ports the parse chose. */
    readonly allocations: HostPortAllocation[],
  ) {}

  /** `earlier`: the spec held before, whose chosen host ports the new one keeps where it can. */
  static parse(input: unknown, ephemeral: EphemeralPorts = LINUX_EPHEMERAL_PORTS, earlier?: HeldSpec): HeldSpec {
    const { spec, ports, allocations } = parseSpecWithPorts(input, ephemeral, earlier && endpointsOf(earlier.spec));
    return new HeldSpec(spec, ports, ephemeral, allocations);
  }

  /**
   * Validates `ports` (named `ports[i]`, as the caller passed them) and
   * publishes them on the endpoint, choosing host ports, but for those it
   * already publishes exactly so; throws (changing nothing) when one is refused.
   */
  addPorts(bridge: string, ref: EndpointRef, ports: readonly PortInput[]): PortEdit {
    if (!Array.isArray(ports)) invalid('ports', 'an array of ports', ports);
    const { network, endpoint } = this.find(bridge, ref);
    const first = endpoint.ports.length;
    const pending: PendingHostPort[] = [];
    // Published already: exactly so, in the other form of its families (address-less or its halves), or (a port
    // leaving its host port to the network) on a host port chosen before.
    const chooses = choosesHostPorts(network);
    const halves = familyHalves(endpoint);
    const published = (port: PortSpec) => endpoint.ports.publishes(port) ||
      (port.hostIp === undefined && halves.length > 0 && halves.every(({ hostIp }) => endpoint.ports.publishes({ ...port, hostIp }))) ||
      (halves.some(({ hostIp }) => hostIp === port.hostIp) && endpoint.ports.publishes(withoutHostIp(port))) ||
      (chooses && leavesHostPortToChoose(port) && Array.from(endpoint.ports).some((held) => chosenFor(port, held)));
    publishPorts(ports, 'ports', endpoint, network, this.ports, pending, published);
    let allocations: HostPortAllocation[];
    try {
      allocations = allocateHostPorts(pending, this.ports, this.ephemeral);
    } catch (error) {
      for (const port of endpoint.ports.truncate(first)) this.release(port, endpoint);
      throw error;
    }
    return { network, endpoint, added: endpoint.ports.slice(first), removed: [], left: new PortList(0), unpublished: [], allocations };
  }

  /**
   * Unpublishes the mappings of `ports` on the endpoint, whatever shape they
   * were published in (after validation: `8080` equals `"8080"`); a range
   * partly unpublished is held as what is left of it. On a network that
   * chooses host ports, a port without one (`"80"`) names the container
   * port's mappings on whatever host port, and one with a host range and one
   * container port (`"8000-8010:80"`) those on a host port in the range: as
   * they were added.
   */
  removePorts(bridge: string, ref: EndpointRef, ports: readonly PortInput[]): PortEdit {
    if (!Array.isArray(ports)) invalid('ports', 'an array of ports', ports);
    const { network, endpoint } = this.find(bridge, ref);
    const unwanted = ports.flatMap((port, index) => {
      const read = readPort(port, 'ports', index, endpoint);
      if (!choosesHostPorts(network) || !leavesHostPortToChoose(read)) return [read];
      return Array.from(endpoint.ports).flatMap((held) => chosenPart(read, held) ?? []);
    });
    // An address-less port is its families' halves (`0.0.0.0` and `::`): each form names the other's mappings.
    const halves = familyHalves(endpoint);
    const { removed, left, unpublished } = endpoint.ports.unpublish(unwanted.flatMap((port) =>
      port.hostIp === undefined ? [port, ...halves.map(({ hostIp }) => ({ ...port, hostIp }))]
        : halves.some(({ hostIp }) => hostIp === port.hostIp) ? [port, withoutHostIp(port)] : [port]));
    // An address-less entry a half was asked of: only that family's mappings go; the other family's stay, as its half.
    const gone: PortSpec[] = [];
    for (const piece of unpublished) {
      if (piece.hostIp !== undefined) {
        gone.push(piece);
        continue;
      }
      for (const { hostIp } of halves) {
        for (const run of runsOf(piece, (containerPort) => unwanted.some((port) => asks(port, piece, containerPort, hostIp)))) {
          (run.asked ? gone : left).push({ ...run.port, hostIp });
        }
      }
    }
    for (const { port } of removed) this.release(port, endpoint);
    // Left of what was just released: nothing else can hold its host ports.
    for (const port of left) this.publish(port, endpoint);
    return { network, endpoint, added: new PortList(0), removed, left: PortList.of(left), unpublished: gone, allocations: [] };
  }

  /** Takes an edit back; edits are undone newest first. */
  undo(edit: PortEdit): void {
    const { endpoint } = edit;
    for (const port of [...edit.added, ...edit.left]) {
      endpoint.ports.removeAt(endpoint.ports.lastIndexOf(port));
      this.release(port, endpoint);
    }
    for (const { port, index } of edit.removed) {
      endpoint.ports.insert(index, port);
      // Held before the edit, so nothing else can hold its host ports now but ports added since, which were undone first.
      this.claim(port, endpoint);
    }
  }

  /** Makes an undone edit again. */
  redo(edit: PortEdit): void {
    const { endpoint } = edit;
    for (const { port } of endpoint.ports.removeEqual(edit.removed.map(({ port }) => port))) this.release(port, endpoint);
    for (const port of [...edit.left, ...edit.added]) this.publish(port, endpoint);
  }

  private publish(port: PortSpec, endpoint: PackedEndpoint): void {
    this.claim(port, endpoint);
    endpoint.ports.push(port);
  }

  private claim(port: PortSpec, endpoint: PackedEndpoint): void {
    this.ports.claim(port, familiesOf(port, endpoint), 'ports');
    this.ports.published += portCount(port);
  }

  private release(port: PortSpec, endpoint: PackedEndpoint): void {
    this.ports.release(port, familiesOf(port, endpoint));
    this.ports.published -= portCount(port);
  }

  /** The spec as input again, ranges written `"A-B"`: what `currentSpec()` returns and the other edits start from. */
  toInput(): SpecInput {
    const { spec } = this;
    const input: SpecInput = {
      backend: spec.backend, ipv4: spec.ipv4, ipv6: spec.ipv6, userlandProxy: spec.userlandProxy,
      ipForward: spec.ipForward, forwardDrop: spec.forwardDrop,
      networks: spec.networks.map((network) => ({
        ...network,
        ...(network.ipv4 ? { ipv4: { ...network.ipv4 } } : {}),
        ...(network.ipv6 ? { ipv6: { ...network.ipv6 } } : {}),
        endpoints: network.endpoints.map((endpoint) => ({ ...endpoint, ports: Array.from(endpoint.ports, portInput) })),
      })),
    };
    if (spec.ingress) input.ingress = { ...spec.ingress, ports: spec.ingress.ports.map((port) => ({ ...port })) };
    return input;
  }

  private find(bridge: string, ref: EndpointRef): { network: PackedNetwork; endpoint: PackedEndpoint } {
    const n = this.spec.networks.findIndex((network) => network.bridge === bridge);
    const network = this.spec.networks[n];
    if (!network) throw new ValidationError('bridge', `no network with bridge ${JSON.stringify(bridge)} has been added`);
    const e = network.endpoints.findIndex((endpoint) => sameEndpoint(endpoint, ref));
    const endpoint = network.endpoints[e];
    if (!endpoint) throw new ValidationError('endpoint', `no endpoint ${JSON.stringify(ref)} in network ${bridge}`);
    return { network, endpoint };
  }
}

/** The unspecified host address of each family the endpoint has an address in: an address-less port's halves. */
function familyHalves(endpoint: PackedEndpoint): { hostIp: string }[] {
  return [
    ...(endpoint.ipv4 === undefined ? [] : [{ hostIp: '0.0.0.0' }]),
    ...(endpoint.ipv6 === undefined ? [] : [{ hostIp: '::' }]),
  ];
}

function withoutHostIp(port: PortSpec): PortSpec {
  const { hostIp: _, ...rest } = port;
  return rest;
}

/**
 * Whether `request` asks for `piece`'s mapping of `containerPort` in the
 * family of `hostIp`: the same mapping (protocol, host-to-container offset),
 * address-less (every family) or that family's half.
 */
function asks(request: PortSpec, piece: PortSpec, containerPort: number, hostIp: string): boolean {
  const offset = (port: PortSpec) => (port.hostPort === undefined ? undefined : port.hostPort.first - port.containerPort.first);
  return request.proto === piece.proto && (request.hostIp === undefined || request.hostIp === hostIp) &&
    offset(request) === offset(piece) && request.containerPort.first <= containerPort && containerPort <= request.containerPort.last;
}

/**
 * The part of `held` a request that leaves its host port to the network
 * names: its mappings of the request's container ports, on whatever host
 * port (or one in the request's host range), as `held` has them.
 */
function chosenPart(request: PortSpec, held: PortSpec): PortSpec | undefined {
  const { hostPort } = held;
  if (held.proto !== request.proto || held.hostIp !== request.hostIp || hostPort === undefined) return undefined;
  const offset = hostPort.first - held.containerPort.first;
  const first = Math.max(held.containerPort.first, request.containerPort.first, (request.hostPort?.first ?? 0) - offset);
  const last = Math.min(held.containerPort.last, request.containerPort.last, (request.hostPort?.last ?? 65535) - offset);
  if (first > last) return undefined;
  return { ...held, containerPort: { first, last }, hostPort: { first: first + offset, last: last + offset } };
}

/** `port` cut into runs of container ports over which `asked` is the same. */
function runsOf(port: PortSpec, asked: (containerPort: number) => boolean): { port: PortSpec; asked: boolean }[] {
  const runs: { port: PortSpec; asked: boolean }[] = [];
  const { first, last } = port.containerPort;
  let start = first;
  for (let containerPort = first + 1; containerPort <= last + 1; containerPort++) {
    if (containerPort <= last && asked(containerPort) === asked(start)) continue;
    const offset = port.hostPort === undefined ? undefined : port.hostPort.first - first;
    const run: PortSpec = { ...port, containerPort: { first: start, last: containerPort - 1 } };
    if (offset !== undefined) run.hostPort = { first: start + offset, last: containerPort - 1 + offset };
    runs.push({ port: run, asked: asked(start) });
    start = containerPort;
  }
  return runs;
}

/** Whether two endpoints share an address, however each is written (`2001:DB8::2` is `2001:db8::2`). */
export function sameEndpoint(a: EndpointRef, b: EndpointRef): boolean {
  return (a.ipv4 !== undefined && canonical(a.ipv4) === canonical(b.ipv4)) ||
    (a.ipv6 !== undefined && canonical(a.ipv6) === canonical(b.ipv6));
}

function canonical(address: string | undefined): string | undefined {
  return typeof address === 'string' ? canonicalAddress(address)?.address ?? address : undefined;
}

function portInput(port: PortSpec): PortSpecInput {
  const input: PortSpecInput = { proto: port.proto, containerPort: rangeInput(port.containerPort) };
  if (port.hostIp !== undefined) input.hostIp = port.hostIp;
  if (port.hostPort !== undefined) input.hostPort = rangeInput(port.hostPort);
  return input;
}

/**
 * The port edits that turn `before` into `after`, when nothing but ports
 * differs between them (same networks and endpoints, in the same order);
 * undefined otherwise. An apply of a spec that only publishes or unpublishes
 * ports then costs what those ports cost.
 */
export function portEditsBetween(before: PackedSpec, after: PackedSpec): PortEdit[] | undefined {
  if (before.backend !== after.backend || before.ipv4 !== after.ipv4 || before.ipv6 !== after.ipv6 ||
    before.userlandProxy !== after.userlandProxy || JSON.stringify(before.ingress) !== JSON.stringify(after.ingress) ||
    before.networks.length !== after.networks.length) return undefined;
  const edits: PortEdit[] = [];
  for (const [n, network] of after.networks.entries()) {
    const was = before.networks[n]!;
    if (!sameNetworkSettings(was, network) || was.endpoints.length !== network.endpoints.length) return undefined;
    for (const [e, endpoint] of network.endpoints.entries()) {
      const old = was.endpoints[e]!;
      if (old.ipv4 !== endpoint.ipv4 || old.ipv6 !== endpoint.ipv6) return undefined;
      const edit = portDifference(old.ports, endpoint.ports);
      if (edit.added.length > 0 || edit.removed.length > 0) {
        edits.push({ network, endpoint, ...edit, left: new PortList(0), unpublished: edit.removed.map(({ port }) => port), allocations: [] });
      }
    }
  }
  return edits;
}

function portDifference(before: PortList, after: PortList): Pick<PortEdit, 'added' | 'removed'> {
  // The usual cases, without a key per port: nothing there yet, or nothing left.
  if (before.length === 0) return { added: after.slice(0), removed: [] };
  if (after.length === 0) return { added: new PortList(0), removed: Array.from(before, (port, index) => ({ port, index })) };
  const beforeKeys = new Set(Array.from(before, portIdentity));
  const afterKeys = new Set(Array.from(after, portIdentity));
  return {
    added: PortList.of(Array.from(after).filter((port) => !beforeKeys.has(portIdentity(port)))),
    removed: Array.from(before, (port, index) => ({ port, index })).filter(({ port }) => !afterKeys.has(portIdentity(port))),
  };
}

function sameNetworkSettings(a: PackedNetwork, b: PackedNetwork): boolean {
  return a.bridge === b.bridge && a.internal === b.internal && a.icc === b.icc && a.masquerade === b.masquerade &&
    a.gatewayMode === b.gatewayMode && JSON.stringify([a.ipv4, a.ipv6]) === JSON.stringify([b.ipv4, b.ipv6]);
}

function portIdentity(port: PortSpec): string {
  const range = (r: PortRange | undefined) => (r === undefined ? '' : `${r.first}-${r.last}`);
  return `${port.proto} ${port.hostIp ?? ''} ${range(port.hostPort)} ${range(port.containerPort)}`;
}

/**
 * Host ports chosen for ports published without one, as Docker chooses them:
 * `-p 80` (no host port) from the namespace's ephemeral range
 * (net.ipv4.ip_local_port_range, skipping net.ipv4.ip_local_reserved_ports),
 * `-p 8000-8010:80` from the range given (moby portallocator
 * RequestPortsInRange). Only networks that publish with NAT choose one: on a
 * routed network a port without a host port is opened for direct routing.
 *
 * Docker binds ports that differ only in their host address to one host port
 * (moby port_mapping_linux.go needSamePort), so the IPv4 and the IPv6 binding
 * of one mapping share it; so do ours. A mapping the spec applied before
 * held keeps its host port while it is free. Otherwise, where Docker goes on
 * after the last port it chose, ours takes the lowest free one, so that the
 * choice depends on the spec alone; it is free of every host port the spec
 * publishes, on every address that overlaps, in every family the port is
 * published in.
 */
import { invalid } from '../errors.js';
import type { PackedEndpoint, PackedNetwork, PackedSpec } from '../held/packed.js';
import { familiesOf, overlaps, rangeInput, type PortLedger } from '../held/ledger.js';
import type { PortRange, PortSpec } from './types.js';

/** The ports the kernel gives out when a socket binds port 0, as a namespace's sysctls say. */
export interface EphemeralPorts {
  first: number;
  last: number;
  /** Left out of automatic assignment (net.ipv4.ip_local_reserved_ports). */
  reserved: readonly PortRange[];
}

/** Linux's default range, a fresh namespace's: what a spec parsed without a namespace chooses from. */
export const LINUX_EPHEMERAL_PORTS: EphemeralPorts = { first: 32768, last: 60999, reserved: [] };

/** A port published without a host port, waiting for one; it sits in its endpoint's ports at `index` meanwhile. */
export interface PendingHostPort {
  /** The endpoint's network's bridge. */
  bridge: string;
  endpoint: PackedEndpoint;
  index: number;
  /** The port without a host port. */
  port: PortSpec;
  /** Docker's `8000-8010:80`: the range to choose from; absent: the ephemeral range. */
  from?: PortRange;
  /** The caller's field of the port, e.g. `networks[0].endpoints[1].ports[2]`. */
  field: string;
}

/** A host port chosen: the port's field and the host port (`"A-B"` for a container port range). */
export interface HostPortAllocation {
  field: string;
  hostPort: number | string;
}

/** Whether the network chooses a host port for a port published without one (Docker: the nat port mapper). */
export function choosesHostPorts(network: Pick<PackedNetwork, 'internal' | 'gatewayMode'>): boolean {
  return !network.internal && (network.gatewayMode === 'nat' || network.gatewayMode === 'nat-unprotected');
}

/** Whether the port leaves its host port to the network: none, or a host range with one container port. */
export function leavesHostPortToChoose(port: PortSpec): boolean {
  const { hostPort, containerPort } = port;
  return hostPort === undefined || hostPort.last - hostPort.first !== containerPort.last - containerPort.first;
}

/** Whether `held` is a mapping `request` (one that leaves its host port to the network) names: any host port, or one in its range. */
export function chosenFor(request: PortSpec, held: PortSpec): boolean {
  const { hostPort } = held;
  return held.proto === request.proto && held.hostIp === request.hostIp && hostPort !== undefined &&
    held.containerPort.first === request.containerPort.first && held.containerPort.last === request.containerPort.last &&
    (request.hostPort === undefined || (request.hostPort.first <= hostPort.first && hostPort.last <= request.hostPort.last));
}

/** The endpoint a spec had with an address of `endpoint` on the bridge, if any: where a port's earlier host port is found. */
export type EarlierEndpoint = (bridge: string, endpoint: Pick<PackedEndpoint, 'ipv4' | 'ipv6'>) => PackedEndpoint | undefined;

/** The endpoints of `spec`, found by bridge and either address. */
export function endpointsOf(spec: PackedSpec): EarlierEndpoint {
  const endpoints = new Map<string, PackedEndpoint>();
  for (const network of spec.networks) {
    for (const endpoint of network.endpoints) {
      for (const address of [endpoint.ipv4, endpoint.ipv6]) if (address !== undefined) endpoints.set(`${network.bridge} ${address}`, endpoint);
    }
  }
  return (bridge, endpoint) => endpoints.get(`${bridge} ${endpoint.ipv4}`) ?? endpoints.get(`${bridge} ${endpoint.ipv6}`);
}

/**
 * Chooses, claims in the ledger and writes into their endpoints the host
 * ports of `pending`, in order. A port keeps the host port it had in
 * `earlier` (the spec applied before: the same endpoint held a mapping the
 * port names, see chosenFor) while that port is free and in its range, as
 * Docker keeps a container's ports while it runs; others get the lowest free
 * one. Throws a ValidationError naming the port when its range has no free
 * port left; ports chosen before stay chosen. `fieldOf` names a port in the
 * allocations (default: its field).
 */
export function allocateHostPorts(
  pending: readonly PendingHostPort[], ledger: PortLedger, ephemeral: EphemeralPorts,
  { fieldOf = (request) => request.field, earlier }: { fieldOf?: (request: PendingHostPort) => string; earlier?: EarlierEndpoint } = {},
): HostPortAllocation[] {
  const chosen = new Map<PendingHostPort, HostPortAllocation>();
  const take = (group: readonly PendingHostPort[], hostPort: PortRange): void => {
    for (const member of group) {
      const port = { ...member.port, hostPort };
      ledger.claim(port, familiesOf(port, member.endpoint), member.field);
      member.endpoint.ports.removeAt(member.index);
      member.endpoint.ports.insert(member.index, port);
      chosen.set(member, { field: fieldOf(member), hostPort: rangeInput(hostPort) });
    }
  };
  const rangeOf = (request: PendingHostPort) => request.from ?? ephemeral;
  const reservedOf = (request: PendingHostPort) => (request.from === undefined ? ephemeral.reserved : []);
  // Earlier host ports first, so that a port new to the spec never takes one a kept mapping had.
  const left: PendingHostPort[][] = [];
  for (const group of groupsOf(pending)) {
    const hostPort = earlierHostPort(group, rangeOf(group[0]!), reservedOf(group[0]!), ledger, earlier);
    if (hostPort) take(group, hostPort);
    else left.push(group);
  }
  // Per shape of group, where its next search starts: claims only grow while choosing, so a
  // window found taken stays taken and the searches of one shape cost about the range in all.
  const searchFrom = new Map<string, number>();
  for (const group of left) {
    const request = group[0]!;
    const count = request.port.containerPort.last - request.port.containerPort.first + 1;
    const range = rangeOf(request);
    const shape = [request.port.proto, count, range.first, range.last, ...group.map(addressesOf).sort()].join(' ');
    const first = lowestFree(group, count, range, reservedOf(request), ledger, searchFrom.get(shape) ?? range.first);
    if (first === undefined) {
      invalid(`${fieldOf(request)}.hostPort`,
        `a ${request.port.proto} host port range of ${count} port(s) free in ${range.first}-${range.last}`, 'none left');
    }
    searchFrom.set(shape, first + count);
    take(group, { first, last: first + count - 1 });
  }
  return pending.map((request) => chosen.get(request)!);
}

/**
 * The pending ports in groups that share a host port, in the order of their
 * first port: ports of one endpoint that differ only in their host address,
 * each on addresses none of the others publishes on (a port twice gets a host
 * port each).
 */
function groupsOf(pending: readonly PendingHostPort[]): PendingHostPort[][] {
  const groups: PendingHostPort[][] = [];
  const byEndpoint = new Map<PackedEndpoint, Map<string, PendingHostPort[][]>>();
  for (const request of pending) {
    const { port, from } = request;
    const key = `${port.proto} ${port.containerPort.first}-${port.containerPort.last} ${from ? `${from.first}-${from.last}` : ''}`;
    const buckets = byEndpoint.get(request.endpoint) ?? new Map<string, PendingHostPort[][]>();
    byEndpoint.set(request.endpoint, buckets);
    const bucket = buckets.get(key) ?? [];
    buckets.set(key, bucket);
    const families = familiesOf(port, request.endpoint);
    const free = bucket.find((group) => !group.some((member) => overlaps(member.port, port) &&
      familiesOf(member.port, member.endpoint).some((family) => families.includes(family))));
    if (free) free.push(request);
    else {
      const group = [request];
      bucket.push(group);
      groups.push(group);
    }
  }
  return groups;
}

/** The host ports the group's first port had in the earlier spec, if they are in range, not reserved and free for the group. */
function earlierHostPort(
  group: readonly PendingHostPort[], range: PortRange, reserved: readonly PortRange[], ledger: PortLedger,
  earlier: EarlierEndpoint | undefined,
): PortRange | undefined {
  const request = group[0]!;
  const before = earlier?.(request.bridge, request.endpoint);
  if (before === undefined) return undefined;
  const wanted = request.from === undefined ? request.port : { ...request.port, hostPort: request.from };
  for (const held of before.ports) {
    const hostPort = held.hostPort;
    if (hostPort === undefined || !chosenFor(wanted, held) || hostPort.first < range.first || hostPort.last > range.last) continue;
    if (reservedBlockIn(reserved, hostPort)) continue;
    if (group.every((member) => ledger.lowestTaken(member.port, familiesOf(member.port, member.endpoint), hostPort) === undefined)) {
      return hostPort;
    }
  }
  return undefined;
}

/** Where a port of a group publishes: its host address and families. */
function addressesOf(request: PendingHostPort): string {
  return `${request.port.hostIp ?? '*'}/${familiesOf(request.port, request.endpoint).join('+')}`;
}

/**
 * The lowest first port from `start` of `count` consecutive ports in
 * `range`, none reserved, free for every port of the group. A taken or
 * reserved port moves the search past it, so the search costs about the
 * range, whatever `count`.
 */
function lowestFree(
  group: readonly PendingHostPort[], count: number, range: PortRange, reserved: readonly PortRange[], ledger: PortLedger, start: number,
): number | undefined {
  let first = start;
  search: while (first + count - 1 <= range.last) {
    const hostPort = { first, last: first + count - 1 };
    const block = reservedBlockIn(reserved, hostPort);
    if (block) {
      first = block.last + 1;
      continue;
    }
    for (const member of group) {
      const taken = ledger.lowestTaken(member.port, familiesOf(member.port, member.endpoint), hostPort);
      if (taken !== undefined) {
        first = taken + 1;
        continue search;
      }
    }
    return first;
  }
  return undefined;
}

function reservedBlockIn(reserved: readonly PortRange[], hostPort: PortRange): PortRange | undefined {
  return reserved.find((block) => block.first <= hostPort.last && hostPort.first <= block.last);
}

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
 * of one mapping share it; so do ours. Where Docker goes on after the last
 * port it chose, ours takes the lowest free one, so that the choice depends
 * on the spec alone; it is free of every host port the spec publishes, on
 * every address that overlaps, in every family the port is published in.
 */
import { invalid } from '../errors.js';
import type { PackedEndpoint, PackedNetwork } from './packed.js';
import { familiesOf, overlaps, type PortLedger } from './ports.js';
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

/**
 * Chooses, claims in the ledger and writes into their endpoints the host
 * ports of `pending`, in order. Throws a ValidationError naming the port when
 * its range has no free port left; ports chosen before stay chosen.
 * `fieldOf` names a port in the allocations (default: its field).
 */
export function allocateHostPorts(
  pending: readonly PendingHostPort[], ledger: PortLedger, ephemeral: EphemeralPorts,
  fieldOf: (request: PendingHostPort) => string = (request) => request.field,
): HostPortAllocation[] {
  const allocations: HostPortAllocation[] = [];
  const done = new Set<PendingHostPort>();
  for (const request of pending) {
    if (done.has(request)) continue;
    const group = groupOf(request, pending, done);
    const count = request.port.containerPort.last - request.port.containerPort.first + 1;
    const first = lowestFree(group, count, request.from ?? ephemeral, request.from === undefined ? ephemeral.reserved : [], ledger);
    if (first === undefined) {
      const range = request.from ?? ephemeral;
      invalid(`${fieldOf(request)}.hostPort`,
        `a ${request.port.proto} host port range of ${count} port(s) free in ${range.first}-${range.last}`, 'none left');
    }
    const hostPort = { first, last: first + count - 1 };
    for (const member of group) {
      const port = { ...member.port, hostPort };
      ledger.claim(port, familiesOf(port, member.endpoint), member.field);
      member.endpoint.ports.removeAt(member.index);
      member.endpoint.ports.insert(member.index, port);
      allocations.push({ field: fieldOf(member), hostPort: count === 1 ? first : `${first}-${hostPort.last}` });
      done.add(member);
    }
  }
  return allocations;
}

/**
 * The pending ports that share `request`'s host port: those of its endpoint
 * that differ from it only in their host address, each on addresses none of
 * the others publishes on (a port twice gets a host port each).
 */
function groupOf(request: PendingHostPort, pending: readonly PendingHostPort[], done: ReadonlySet<PendingHostPort>): PendingHostPort[] {
  const group: PendingHostPort[] = [];
  for (const other of pending) {
    if (done.has(other) || !sharesHostPort(request, other)) continue;
    const families = familiesOf(other.port, other.endpoint);
    const meets = group.some((member) => overlaps(member.port, other.port) &&
      familiesOf(member.port, member.endpoint).some((family) => families.includes(family)));
    if (!meets) group.push(other);
  }
  return group;
}

function sharesHostPort(a: PendingHostPort, b: PendingHostPort): boolean {
  return a.endpoint === b.endpoint && a.port.proto === b.port.proto &&
    a.port.containerPort.first === b.port.containerPort.first && a.port.containerPort.last === b.port.containerPort.last &&
    a.from?.first === b.from?.first && a.from?.last === b.from?.last;
}

/**
 * The lowest first port of `count` consecutive ports in `range`, none
 * reserved, free for every port of the group. A taken or reserved port moves
 * the search past it, so the search costs about the range, whatever `count`.
 */
function lowestFree(
  group: readonly PendingHostPort[], count: number, range: PortRange, reserved: readonly PortRange[], ledger: PortLedger,
): number | undefined {
  let first = range.first;
  search: while (first + count - 1 <= range.last) {
    const hostPort = { first, last: first + count - 1 };
    const block = reserved.find((r) => r.first <= hostPort.last && hostPort.first <= r.last);
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

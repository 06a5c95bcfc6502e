/**
 * Strict validation of a spec: every problem is a ValidationError naming the
 * field path (`networks[0].endpoints[1].ports[0].hostPort`), raised before
 * anything is planned or committed.
 */
import { invalid, ValidationError } from '../errors.js';
import { FAMILIES, type Family } from '../family.js';
import { canonicalAddress, parseSubnet, reservedAddressRole, subnetContains, subnetsOverlap, type ParsedSubnet } from '../address.js';
import { parseDockerPort } from './docker-port.js';
import {
  allocateHostPorts, choosesHostPorts, leavesHostPortToChoose, LINUX_EPHEMERAL_PORTS,
  type EarlierEndpoint, type EphemeralPorts, type HostPortAllocation, type PendingHostPort,
} from './host-ports.js';
import { INTERFACE_NAME_EXPECTED, isInterfaceName } from './interface-name.js';
import type { PackedEndpoint, PackedNetwork, PackedSpec } from '../held/packed.js';
import { PortList } from '../held/port-list.js';
import { familiesOf, portCount, PortLedger } from '../held/ledger.js';
import type {
  FirewallBackend, GatewayMode, IngressPortSpec, IngressSpec, PortProtocol, PortRange, PortSpec, Spec, SubnetSpec,
} from './types.js';
import { PORT_PROTOCOLS } from '../protocol.js';

/** Upper bounds that keep a spec within what a host can sensibly carry. */
export const SPEC_LIMITS = {
  networks: 1024,
  endpointsPerNetwork: 4096,
  portsPerEndpoint: 1024,
  ingressPorts: 4096,
  /** Published ports after expanding ranges, over the whole spec: every tcp and udp port. */
  expandedPorts: 2 * 65536,
} as const;

const BACKENDS: readonly FirewallBackend[] = ['iptables', 'iptables-nft', 'nftables'];
/** The backend a spec without `backend` is applied with. */
export const DEFAULT_BACKEND: FirewallBackend = 'nftables';
const GATEWAY_MODES: readonly GatewayMode[] = ['nat', 'nat-unprotected', 'routed', 'isolated'];

const PORT_TEXT = /^(\d{1,5})(?:-(\d{1,5}))?$/;

type Json = Record<string, unknown>;

/**
 * Validates `input` and returns it with defaults filled, addresses canonical
 * and host ports chosen (from `ephemeral`) for ports published without one.
 */
export function parseSpec(input: unknown, ephemeral: EphemeralPorts = LINUX_EPHEMERAL_PORTS): Spec {
  const { spec } = parseSpecWithPorts(input, ephemeral);
  return {
    ...spec,
    networks: spec.networks.map((network) => ({
      ...network,
      endpoints: network.endpoints.map((endpoint) => ({ ...endpoint, ports: endpoint.ports.toArray() })),
    })),
  };
}

/**
 * parseSpec with the ports packed, the ledger of the ports it publishes (for
 * adding ports later without validating it all again): what a Firewall
 * holds; and the host ports it chose, keeping those `earlier` had where it can.
 */
export function parseSpecWithPorts(
  input: unknown, ephemeral: EphemeralPorts, earlier?: EarlierEndpoint,
): { spec: PackedSpec; ports: PortLedger; allocations: HostPortAllocation[] } {
  const root = readObject(input, 'spec', ['backend', 'ipv4', 'ipv6', 'userlandProxy', 'ipForward', 'forwardDrop', 'networks', 'ingress', 'adopt']);
  const networks: PackedNetwork[] = [];
  const context: SpecContext = { ports: new PortLedger(networks), subnets: [], pendingHostPorts: [] };
  readArray(root, 'networks', 'networks', SPEC_LIMITS.networks)
    .forEach((network, index) => parseNetwork(network, `networks[${index}]`, networks, context));
  rejectDuplicateBridges(networks);
  // After every port given a host port has taken it: a chosen one never takes a port the spec names.
  const allocations = allocateHostPorts(context.pendingHostPorts, context.ports, ephemeral, earlier ? { earlier } : {});
  const spec: PackedSpec = {
    backend: readEnum(root, 'backend', 'backend', BACKENDS, DEFAULT_BACKEND),
    ipv4: readBoolean(root, 'ipv4', 'ipv4', true),
    ipv6: readBoolean(root, 'ipv6', 'ipv6', false),
    userlandProxy: readBoolean(root, 'userlandProxy', 'userlandProxy', true),
    ipForward: readBoolean(root, 'ipForward', 'ipForward', true),
    forwardDrop: readBoolean(root, 'forwardDrop', 'forwardDrop', true),
    networks,
  };
  if (root.ingress !== undefined) {
    if (!spec.ipv4) invalid('ingress', 'no ingress when ipv4 is disabled (the routing mesh is IPv4 only)', root.ingress);
    spec.ingress = parseIngress(root.ingress, networks);
  }
  return { spec, ports: context.ports, allocations };
}

interface SpecContext {
  ports: PortLedger;
  subnets: { subnet: ParsedSubnet; field: string }[];
  pendingHostPorts: PendingHostPort[];
}

/** Parses a network into `networks` (where it is, while its endpoints are parsed, for naming clashes). */
function parseNetwork(value: unknown, field: string, networks: PackedNetwork[], context: SpecContext): void {
  const object = readObject(value, field,
    ['bridge', 'internal', 'icc', 'masquerade', 'gatewayMode', 'ipv4', 'ipv6', 'endpoints']);
  const bridge = readInterfaceName(object, 'bridge', `${field}.bridge`);
  const internal = readBoolean(object, 'internal', `${field}.internal`, false);
  const gatewayMode = readEnum(object, 'gatewayMode', `${field}.gatewayMode`, GATEWAY_MODES, 'nat');
  if (gatewayMode === 'isolated' && !internal) {
    invalid(`${field}.gatewayMode`, 'a gateway mode other than "isolated" for a network that is not internal', gatewayMode);
  }
  const subnets = {
    ipv4: parseSubnetSpec(object.ipv4, `${field}.ipv4`, 'ipv4', context),
    ipv6: parseSubnetSpec(object.ipv6, `${field}.ipv6`, 'ipv6', context),
  };
  if (!subnets.ipv4 && !subnets.ipv6) invalid(`${field}.ipv4`, 'an ipv4 or ipv6 subnet', undefined);

  const network: PackedNetwork = {
    bridge,
    internal,
    icc: readBoolean(object, 'icc', `${field}.icc`, true),
    masquerade: readBoolean(object, 'masquerade', `${field}.masquerade`, true),
    gatewayMode,
    endpoints: [],
  };
  if (subnets.ipv4) network.ipv4 = subnets.ipv4.spec;
  if (subnets.ipv6) network.ipv6 = subnets.ipv6.spec;
  networks.push(network);
  const seen = new Map<string, string>();
  readArray(object, 'endpoints', `${field}.endpoints`, SPEC_LIMITS.endpointsPerNetwork)
    .forEach((endpoint, index) => parseEndpoint(endpoint, `${field}.endpoints[${index}]`, network, subnets, seen, context));
}

function parseSubnetSpec(
  value: unknown, field: string, family: Family, context: SpecContext,
): { spec: SubnetSpec; parsed: ParsedSubnet; field: string } | undefined {
  if (value === undefined) return undefined;
  const object = readObject(value, field, ['subnet', 'hostIp']);
  const subnetField = `${field}.subnet`;
  const parsed = typeof object.subnet === 'string' ? parseSubnet(object.subnet) : undefined;
  if (!parsed || parsed.family !== family) invalid(subnetField, `an ${familyName(family)} subnet`, object.subnet);
  // As Docker's bridge driver (bridge_linux.go CreateNetwork: "ipv4 pool is empty"): every address is no network.
  if (parsed.range[1] === 0) invalid(subnetField, 'a subnet with a prefix length of at least 1', object.subnet);
  // As Docker (daemon/network.go validateIpamConfig: "invalid subnet ...: it should be ...").
  if (parsed.hostBitsSet) invalid(subnetField, `a subnet with no host bits set (did you mean ${parsed.cidr}?)`, object.subnet);
  const clash = context.subnets.find((other) => subnetsOverlap(other.subnet, parsed));
  if (clash) invalid(subnetField, `a subnet not overlapping ${clash.field} (${clash.subnet.cidr})`, object.subnet);
  context.subnets.push({ subnet: parsed, field: subnetField });

  const spec: SubnetSpec = { subnet: parsed.cidr };
  if (object.hostIp !== undefined) {
    const hostIp = typeof object.hostIp === 'string' ? canonicalAddress(object.hostIp) : undefined;
    if (!hostIp || hostIp.family !== family || hostIp.unspecified) {
      invalid(`${field}.hostIp`, `an ${familyName(family)} host address`, object.hostIp);
    }
    spec.hostIp = hostIp.address;
  }
  return { spec, parsed, field: subnetField };
}

type NetworkSubnets = Record<Family, { parsed: ParsedSubnet; field: string } | undefined>;

function parseEndpoint(
  value: unknown, field: string, network: PackedNetwork, subnets: NetworkSubnets, seen: Map<string, string>, context: SpecContext,
): void {
  const object = readObject(value, field, ['ipv4', 'ipv6', 'ports']);
  const endpoint: PackedEndpoint = { ports: new PortList() };
  for (const family of FAMILIES) {
    if (object[family] === undefined) continue;
    const addressField = `${field}.${family}`;
    const subnet = subnets[family];
    const parsed = typeof object[family] === 'string' ? canonicalAddress(object[family]) : undefined;
    if (!parsed || parsed.family !== family) invalid(addressField, `an ${familyName(family)} address`, object[family]);
    if (!subnet) invalid(addressField, `no ${family} address on a network without an ${family} subnet`, object[family]);
    checkHostAddress(subnet.parsed, subnet.field, parsed.address, addressField, object[family]);
    const owner = seen.get(parsed.address);
    if (owner) invalid(addressField, `an address not already used by ${owner}`, object[family]);
    seen.set(parsed.address, addressField);
    endpoint[family] = parsed.address;
  }
  if (endpoint.ipv4 === undefined && endpoint.ipv6 === undefined) invalid(`${field}.ipv4`, 'an ipv4 or ipv6 address', undefined);
  network.endpoints.push(endpoint);
  const ports = readArray(object, 'ports', `${field}.ports`, SPEC_LIMITS.portsPerEndpoint);
  publishPorts(ports, `${field}.ports`, endpoint, network, context.ports, context.pendingHostPorts);
}

/**
 * Validates ports and appends them to the endpoint's, taking their host
 * ports in the ledger; `field` names the array of `values`. A port
 * `unchanged` picks (already published so) is left out. A port whose host
 * port the network chooses is appended without one and added to `pending`,
 * for allocateHostPorts. All or nothing: when one port is refused, the
 * endpoint, the ledger and `pending` are as before.
 */
export function publishPorts(
  values: readonly unknown[], field: string, endpoint: PackedEndpoint, network: PackedNetwork,
  ledger: PortLedger, pending: PendingHostPort[], unchanged?: (port: PortSpec) => boolean,
): void {
  const first = endpoint.ports.length;
  if (first + values.length > SPEC_LIMITS.portsPerEndpoint) {
    invalid(field, `an array of at most ${SPEC_LIMITS.portsPerEndpoint}`, `${first + values.length} ports`);
  }
  const published = ledger.published;
  const pendingBefore = pending.length;
  try {
    // A port's field, `${field}[${index}]`, is spelled out only where it is kept or named in an error: this runs once per port.
    for (let index = 0; index < values.length; index++) {
      const value = values[index];
      let port = readPort(value, field, index, endpoint);
      if (unchanged?.(port)) continue;
      const choose = hostPortToChoose(port, network, field, index, value);
      if (choose) port = withoutHostPort(port);
      // A port of a family the endpoint has no address in publishes nothing (familiesOf): nothing to choose.
      if (choose && familiesOf(port, endpoint).length > 0) {
        const request: PendingHostPort = { bridge: network.bridge, endpoint, index: endpoint.ports.length, port, field: `${field}[${index}]` };
        if (choose.from) request.from = choose.from;
        pending.push(request);
      } else if (port.hostPort !== undefined) {
        ledger.claim(port, familiesOf(port, endpoint), field, index);
      }
      endpoint.ports.push(port);
      ledger.published += portCount(port);
      if (ledger.published > SPEC_LIMITS.expandedPorts) {
        invalid(`${field}[${index}].containerPort`, `at most ${SPEC_LIMITS.expandedPorts} published ports in a spec`, (value as Json).containerPort ?? value);
      }
    }
  } catch (error) {
    for (const port of endpoint.ports.truncate(first)) ledger.release(port, familiesOf(port, endpoint));
    ledger.published = published;
    pending.length = pendingBefore;
    throw error;
  }
}

/**
 * Whether the network chooses the port's host port, and from which range:
 * absent (the ephemeral range) or a host port range with a single container
 * port (Docker's `8000-8010:80`), on a network that publishes with NAT.
 */
function hostPortToChoose(port: PortSpec, network: PackedNetwork, list: string, index: number, value: unknown): { from?: PortRange } | undefined {
  const { hostPort } = port;
  const fromRange = hostPort !== undefined && leavesHostPortToChoose(port);
  if (!choosesHostPorts(network)) {
    if (fromRange) {
      const field = `${list}[${index}]`;
      invalid(typeof value === 'string' ? field : `${field}.hostPort`,
        'a host port range as long as the container port range (only a network with NAT chooses a host port from a range)', value);
    }
    return undefined;
  }
  if (hostPort === undefined) return {};
  return fromRange ? { from: hostPort } : undefined;
}

function withoutHostPort(port: PortSpec): PortSpec {
  const { hostPort: _, ...rest } = port;
  return rest;
}

/**
 * A port of the endpoint, validated and canonical, in the object form or in
 * Docker's `-p` notation (docker-port.ts); its host ports are not checked
 * against others here, and a host port range with one container port (a
 * range to choose from) is left to the caller. It is `list[index]` (index
 * undefined: `list` itself), a field path composed only for an error: this
 * runs once per published port.
 */
export function readPort(value: unknown, list: string, index: number | undefined, endpoint: Pick<PackedEndpoint, 'ipv4' | 'ipv6'>): PortSpec {
  if (typeof value === 'string') return readPortObject(parseDockerPort(value, fieldAt(list, index)) as unknown as Json, value, list, index, endpoint);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(fieldAt(list, index), 'an object', value);
  for (const key in value) {
    if (!PORT_KEYS.includes(key as (typeof PORT_KEYS)[number]) && Object.hasOwn(value, key)) readObject(value, fieldAt(list, index), PORT_KEYS);
  }
  return readPortObject(value as Json, undefined, list, index, endpoint);
}

/** The port `object` describes; `notation`: the `-p` text it was read from, which names its own field (it has no fields of its own). */
function readPortObject(
  object: Json, notation: string | undefined, list: string, index: number | undefined, endpoint: Pick<PackedEndpoint, 'ipv4' | 'ipv6'>,
): PortSpec {
  const proto = object.proto === undefined ? 'tcp' : PORT_PROTOCOLS.includes(object.proto as PortProtocol)
    ? object.proto as PortProtocol
    : readEnum(object, 'proto', `${fieldAt(list, index)}.proto`, PORT_PROTOCOLS, undefined);
  const containerPort = parsePortRange(object.containerPort, list, index, 'containerPort');
  let hostIp: string | undefined;
  if (object.hostIp !== undefined) {
    const parsed = typeof object.hostIp === 'string' ? canonicalAddress(object.hostIp) : undefined;
    if (!parsed) invalid(notationField(notation, list, index, 'hostIp'), 'an IPv4 or IPv6 address', notation ?? object.hostIp);
    if (!parsed.unspecified && endpoint[parsed.family] === undefined) {
      invalid(notationField(notation, list, index, 'hostIp'), `a host address of a family the endpoint has an address in`, notation ?? object.hostIp);
    }
    hostIp = parsed.address;
  }
  let hostPort: PortRange | undefined;
  if (object.hostPort !== undefined) {
    hostPort = parsePortRange(object.hostPort, list, index, 'hostPort');
    const count = containerPort.last - containerPort.first + 1;
    if (count > 1 && hostPort.last - hostPort.first + 1 !== count) {
      invalid(`${fieldAt(list, index)}.hostPort`, `a range of ${count} port(s), as many as containerPort`, object.hostPort);
    }
  }
  // Each shape made whole at once, not grown property by property: this runs once per published port.
  if (hostPort === undefined) return hostIp === undefined ? { proto, containerPort } : { proto, hostIp, containerPort };
  return hostIp === undefined ? { proto, hostPort, containerPort } : { proto, hostIp, hostPort, containerPort };
}

/** `list[index]`, or `list` itself when index is undefined. */
function fieldAt(list: string, index: number | undefined): string {
  return index === undefined ? list : `${list}[${index}]`;
}

/** The field naming a port's `key`: the port's own when it was given in `-p` notation, which has no fields. */
function notationField(notation: string | undefined, list: string, index: number | undefined, key: string): string {
  return notation === undefined ? `${fieldAt(list, index)}.${key}` : fieldAt(list, index);
}

const PORT_KEYS = ['proto', 'hostIp', 'hostPort', 'containerPort'] as const;

/** `object[key]` of the port at `list[index]` as a port range. */
function parsePortRange(value: unknown, list: string, index: number | undefined, key: string): PortRange {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535) return { first: value, last: value };
  const field = `${fieldAt(list, index)}.${key}`;
  if (typeof value === 'number') invalid(field, 'a port from 1 to 65535', value);
  const match = typeof value === 'string' ? PORT_TEXT.exec(value) : null;
  if (!match) invalid(field, 'a port from 1 to 65535 or a range "A-B"', value);
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  if (first < 1 || last > 65535 || first > last) invalid(field, 'a port from 1 to 65535 or a range "A-B" with A <= B', value);
  return { first, last };
}

function parseIngress(value: unknown, networks: readonly PackedNetwork[]): IngressSpec {
  const object = readObject(value, 'ingress', ['bridge', 'address', 'ports']);
  const bridge = readInterfaceName(object, 'bridge', 'ingress.bridge');
  const address = typeof object.address === 'string' ? canonicalAddress(object.address) : undefined;
  if (!address || address.family !== 'ipv4' || address.unspecified) invalid('ingress.address', 'an IPv4 address', object.address);
  const gatewayNetwork = networks.findIndex((network) => network.bridge === bridge);
  const gatewaySubnet = networks[gatewayNetwork]?.ipv4?.subnet;
  if (gatewaySubnet !== undefined) {
    checkHostAddress(parseSubnet(gatewaySubnet)!, `networks[${gatewayNetwork}].ipv4.subnet`, address.address, 'ingress.address', object.address);
  }
  const seen = new Set<string>();
  const ports = readArray(object, 'ports', 'ingress.ports', SPEC_LIMITS.ingressPorts).map((entry, index): IngressPortSpec => {
    const field = `ingress.ports[${index}]`;
    const port = readObject(entry, field, ['proto', 'port']);
    const proto = readEnum(port, 'proto', `${field}.proto`, PORT_PROTOCOLS, undefined);
    if (typeof port.port !== 'number' || !Number.isInteger(port.port) || port.port < 1 || port.port > 65535) {
      invalid(`${field}.port`, 'a port from 1 to 65535', port.port);
    }
    if (seen.has(`${proto}/${port.port}`)) invalid(`${field}.port`, 'a protocol and port not already published', port.port);
    seen.add(`${proto}/${port.port}`);
    return { proto, port: port.port };
  });
  return { bridge, address: address.address, ports };
}

/** An address a container can have in the subnet: in it, and not one Docker's IPAM reserves. */
function checkHostAddress(subnet: ParsedSubnet, subnetField: string, address: string, field: string, received: unknown): void {
  if (!subnetContains(subnet, address)) invalid(field, `an address in ${subnetField} (${subnet.cidr})`, received);
  const role = reservedAddressRole(subnet, address);
  if (role) invalid(field, `an address in ${subnetField} (${subnet.cidr}) that is not its ${role} address`, received);
}

function rejectDuplicateBridges(networks: readonly PackedNetwork[]): void {
  const seen = new Set<string>();
  networks.forEach((network, index) => {
    if (seen.has(network.bridge)) invalid(`networks[${index}].bridge`, 'a bridge not used by another network', network.bridge);
    seen.add(network.bridge);
  });
}

function readObject(value: unknown, field: string, keys: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(field, 'an object', value);
  for (const key in value) {
    if (Object.hasOwn(value, key) && !keys.includes(key)) {
      throw new ValidationError(`${field === 'spec' ? '' : `${field}.`}${key}`,
        `Unknown key ${JSON.stringify(key)}; expected one of ${keys.join(', ')}`);
    }
  }
  return value as Json;
}

function readArray(object: Json, key: string, field: string, limit: number): unknown[] {
  const value = object[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid(field, 'an array', value);
  if (value.length > limit) invalid(field, `an array of at most ${limit}`, value);
  return value;
}

function readBoolean(object: Json, key: string, field: string, fallback: boolean): boolean {
  const value = object[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(field, 'true or false', value);
  return value;
}

function readEnum<T extends string>(
  object: Json, key: string, field: string, choices: readonly T[], fallback: T | undefined,
): T {
  const value = object[key];
  if (value === undefined && fallback !== undefined) return fallback;
  if (!choices.includes(value as T)) invalid(field, `one of ${choices.map((choice) => `"${choice}"`).join(', ')}`, value);
  return value as T;
}

function readInterfaceName(object: Json, key: string, field: string): string {
  const value = object[key];
  if (!isInterfaceName(value)) invalid(field, INTERFACE_NAME_EXPECTED, value);
  return value;
}

function familyName(family: Family): string {
  return family === 'ipv4' ? 'IPv4' : 'IPv6';
}

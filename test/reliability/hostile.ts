/**
 * A deterministic generator of specs for the hostile-spec tests. Half of them
 * are valid (networks, endpoints, published ports, ingress, every option) and
 * must be applied; the other half are a valid spec with exactly one field made
 * invalid (an address malformed, of the other family or outside its subnet, a
 * port out of range, a host port published twice, a subnet of the wrong
 * family, an interface name with spaces, quotes or 16+ bytes, a network given
 * twice, ingress without its bridge, an absurd size, a wrong type or key), and
 * must be rejected with a ValidationError naming that field. Changing one
 * field of an otherwise valid spec is what makes the expected field known: a
 * spec drawn at random field by field is almost never valid, so almost
 * nothing of it would reach the kernel. A seed reproduces any failure.
 */
import type { EndpointSpecInput, FirewallBackend, GatewayMode, IngressSpec, NetworkSpecInput, PortSpecInput, SpecInput } from '../../src/input/types.js';
import { SPEC_LIMITS } from '../../src/input/validate.js';
import { FAMILIES, type Family } from '../../src/family.js';
import { PORT_PROTOCOLS } from '../../src/protocol.js';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface HostileSpec {
  spec: SpecInput;
  /** For a spec with one invalid field: that field's path and the kind of mutation; undefined for a valid spec. */
  invalid?: { field: string; mutation: MutationName };
}

/** Draws from a seeded sequence. */
class Draw {
  constructor(private readonly next: () => number) {}

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(values: readonly T[]): T {
    return values[this.below(values.length)]!;
  }

  /** Removes and returns one of `values`. */
  take<T>(values: T[]): T {
    return values.splice(this.below(values.length), 1)[0]!;
  }
}

const VALID_BRIDGES = ['br-a', 'br-b', 'docker0', 'br-0123456789ab', 'br_x.1'];
const DEFAULT_OR_BOOLEAN = [undefined, true, false];
/** `isolated` only for internal networks. */
const GATEWAY_MODES = [undefined, 'nat', 'nat-unprotected', 'routed'] as const;
/** Host addresses a port may be published on, by the endpoint's family (undefined: every address). */
const HOST_IPS: Record<Family, readonly (string | undefined)[]> = {
  ipv4: [undefined, '0.0.0.0', '127.0.0.1', '203.0.113.1'],
  ipv6: [undefined, '::', '::1', '2001:db8:ff::1'],
};

/** `count` ports from `first`, as a number or an "A-B" range. */
function portRange(first: number, count: number): number | string {
  return count === 1 ? first : `${first}-${first + count - 1}`;
}

/**
 * A valid spec. Subnets are 198.18.N.0/24 and 2001:db8:N::/64 for the N-th
 * network, so they never overlap, and host ports are handed out in
 * increasing order, so no two bindings claim the same one.
 */
function validSpec(draw: Draw, backend: FirewallBackend): SpecInput {
  const bridges = [...VALID_BRIDGES];
  let nextHostPort = 10_000 + draw.below(1_000);

  const port = (families: readonly Family[]): PortSpecInput => {
    const proto = draw.pick(PORT_PROTOCOLS);
    const count = draw.pick([1, 1, 1, 2, 10]);
    const containerPort = portRange(1 + draw.below(60_000), count);
    // Without a host port the container port is opened for direct routing, no DNAT.
    if (draw.chance(0.2)) return { proto, containerPort };
    const hostPort = portRange(nextHostPort, count);
    nextHostPort += count + draw.below(3);
    return { proto, hostIp: draw.pick(families.flatMap((family) => HOST_IPS[family])), hostPort, containerPort };
  };
  const endpoint = (octet: number, index: number, networkFamilies: readonly Family[]): EndpointSpecInput => {
    const families = networkFamilies.length === 1 ? networkFamilies : draw.pick<readonly Family[]>([['ipv4'], ['ipv6'], networkFamilies]);
    return {
      ipv4: families.includes('ipv4') ? `198.18.${octet}.${2 + index}` : undefined,
      ipv6: families.includes('ipv6') ? `2001:db8:${octet}::${2 + index}` : undefined,
      ports: Array.from({ length: draw.below(4) }, () => port(families)),
    };
  };
  const network = (octet: number): NetworkSpecInput => {
    const internal = draw.pick(DEFAULT_OR_BOOLEAN);
    const families = draw.pick<readonly Family[]>([['ipv4'], ['ipv6'], ['ipv4', 'ipv6']]);
    return {
      bridge: draw.take(bridges),
      internal,
      icc: draw.pick(DEFAULT_OR_BOOLEAN),
      masquerade: draw.pick(DEFAULT_OR_BOOLEAN),
      gatewayMode: draw.pick<GatewayMode | undefined>(internal ? [...GATEWAY_MODES, 'isolated'] : GATEWAY_MODES),
      ipv4: families.includes('ipv4') ? { subnet: `198.18.${octet}.0/24`, hostIp: draw.chance(0.2) ? `203.0.113.${octet}` : undefined } : undefined,
      ipv6: families.includes('ipv6') ? { subnet: `2001:db8:${octet}::/64`, hostIp: draw.chance(0.2) ? `2001:db8:ff::${octet}` : undefined } : undefined,
      endpoints: Array.from({ length: draw.below(3) }, (_, index) => endpoint(octet, index, families)),
    };
  };

  // The routing mesh is IPv4 only: no ingress when IPv4 is off.
  const ipv4 = draw.pick(DEFAULT_OR_BOOLEAN);
  const ingress: IngressSpec | undefined = ipv4 !== false && draw.chance(0.25)
    ? { bridge: 'docker_gwbridge', address: '198.18.250.2', ports: Array.from({ length: 1 + draw.below(3) }, (_, i) => ({ proto: draw.pick(PORT_PROTOCOLS), port: 9_000 + i })) }
    : undefined;
  return {
    backend,
    ipv4,
    ipv6: draw.pick(DEFAULT_OR_BOOLEAN),
    userlandProxy: draw.pick(DEFAULT_OR_BOOLEAN),
    networks: Array.from({ length: draw.below(4) }, (_, i) => network(1 + i)),
    ingress,
  };
}

/** Something in the spec, and the path of the field that names it. */
interface Site<T> {
  value: T;
  field: string;
}

function networksOf(spec: SpecInput): Site<NetworkSpecInput>[] {
  return (spec.networks ?? []).map((value, i) => ({ value, field: `networks[${i}]` }));
}

function endpointsOf(spec: SpecInput): Site<EndpointSpecInput>[] {
  return networksOf(spec).flatMap((network) =>
    (network.value.endpoints ?? []).map((value, j) => ({ value, field: `${network.field}.endpoints[${j}]` })));
}

function portsOf(spec: SpecInput): (Site<PortSpecInput> & { endpoint: Site<EndpointSpecInput> })[] {
  return endpointsOf(spec).flatMap((endpoint) =>
    // The corpus writes ports as objects; Docker's -p strings are spec-fuzz's.
    (endpoint.value.ports ?? []).map((value, k) => ({ value: value as PortSpecInput, field: `${endpoint.field}.ports[${k}]`, endpoint })));
}

/** Sets a field to a value its type does not allow. */
function poke(object: object, key: string, value: unknown): void {
  (object as Record<string, unknown>)[key] = value;
}

/** A field to poke, the path it is reported under, and the values to choose from. */
interface Target {
  object: object;
  key: string;
  field: string;
  values: readonly unknown[];
}

const BAD_ADDRESSES: Record<Family, readonly unknown[]> = {
  // Malformed, with a prefix, of the other family, outside every subnet, not a string.
  ipv4: ['198.18.1.300', '1.2.3', '198.18.1.2/32', '2001:db8:1::2', '203.0.113.50', '', 42],
  ipv6: ['zz::1', '2001:db8::1::2', '2001:db8:1::2/64', '198.18.1.2', '2001:db8:ffff::2', ''],
};
const BAD_PORTS: readonly unknown[] = [0, 65_536, -1, 1.5, 1e9, 'abc', '80-', '8081-8080', '0-10', '65535-65536', '', null];
const BAD_SUBNETS: Record<Family, readonly unknown[]> = {
  ipv4: ['2001:db8:9::/64', '198.18.0.0/33', '999.1.1.0/24', '198.18.9.0', '', 7],
  ipv6: ['198.18.9.0/24', '2001:db8:9::/129', '2001:db8::1::/64', '2001:db8:9::'],
};
/** Spaces, quotes, shell and path characters, 16 bytes and more, empty, not a string. */
const BAD_INTERFACE_NAMES: readonly unknown[] = [
  'br with space', 'br"quote', "br'quote", 'br;rm', 'br\n', '-br', 'br/x', 'br+', 'brä', 'br-0123456789abc', 'x'.repeat(100), '', 42, null,
];

/** A way to make one field of a valid spec invalid: returns that field's path, or undefined when the spec has nothing to apply it to. */
type Mutation = (spec: SpecInput, draw: Draw) => string | undefined;

function pokeOne(draw: Draw, targets: readonly Target[]): string | undefined {
  if (targets.length === 0) return undefined;
  const target = draw.pick(targets);
  poke(target.object, target.key, draw.pick(target.values));
  return target.field;
}

const MUTATIONS = {
  address: (spec, draw) => pokeOne(draw, endpointsOf(spec).flatMap(({ value, field }) =>
    FAMILIES.map((family) => ({ object: value, key: family, field: `${field}.${family}`, values: BAD_ADDRESSES[family] })))),

  port: (spec, draw) => pokeOne(draw, portsOf(spec).flatMap(({ value, field }) =>
    ['hostPort', 'containerPort'].map((key) => ({ object: value, key, field: `${field}.${key}`, values: BAD_PORTS })))),

  /** A binding published again on the same endpoint, on its address or on every address: the copy is refused. */
  hostPortTwice: (spec, draw) => {
    const published = portsOf(spec).filter(({ value }) => value.hostPort !== undefined);
    if (published.length === 0) return undefined;
    const { value, endpoint } = draw.pick(published);
    const ports = endpoint.value.ports!;
    ports.push({ ...value, hostIp: draw.chance(0.5) ? value.hostIp : undefined });
    return `${endpoint.field}.ports[${ports.length - 1}].hostPort`;
  },

  subnet: (spec, draw) => pokeOne(draw, networksOf(spec).flatMap(({ value, field }) => FAMILIES.map((family) => ({
    object: value, key: family, field: `${field}.${family}.subnet`,
    values: BAD_SUBNETS[family].map((subnet) => ({ ...value[family], subnet })),
  })))),

  interfaceName: (spec, draw) => pokeOne(draw, [
    ...networksOf(spec).map(({ value, field }) => ({ object: value, key: 'bridge', field: `${field}.bridge`, values: BAD_INTERFACE_NAMES })),
    ...(spec.ingress ? [{ object: spec.ingress, key: 'bridge', field: 'ingress.bridge', values: BAD_INTERFACE_NAMES }] : []),
  ]),

  /** A network given twice: as is, its subnet overlaps itself; with a subnet of its own, its bridge is taken. */
  networkTwice: (spec, draw) => {
    const networks = spec.networks ?? [];
    if (networks.length === 0) return undefined;
    const network = draw.pick(networks);
    const index = networks.length;
    if (draw.chance(0.5)) {
      networks.push(structuredClone(network));
      return `networks[${index}].${network.ipv4 ? 'ipv4' : 'ipv6'}.subnet`;
    }
    networks.push({ bridge: network.bridge, ipv4: { subnet: '198.18.200.0/24' } });
    return `networks[${index}].bridge`;
  },

  ingress: (spec, draw) => {
    const ingress = spec.ingress;
    if (!ingress) return undefined;
    if (draw.chance(0.5)) return pokeOne(draw, [
      { object: ingress, key: 'bridge', field: 'ingress.bridge', values: [undefined] },
      { object: ingress, key: 'address', field: 'ingress.address', values: [undefined, '0.0.0.0', '2001:db8::1', '198.18.250.300'] },
    ]);
    ingress.ports.push({ ...draw.pick(ingress.ports) });
    return `ingress.ports[${ingress.ports.length - 1}].port`;
  },

  /** One more network, endpoint or port than the limits allow (the array is refused before its items are read), or more published ports in all. */
  size: (spec, draw) => {
    const [first] = endpointsOf(spec);
    if (first && draw.chance(0.3)) {
      // Two of these fit the limit of 2 × 65536, the third does not; the first endpoint has no ports before it.
      first.value.ports = PORT_PROTOCOLS.map((proto) => ({ proto, containerPort: '1-65535' }));
      return `${first.field}.ports[2].containerPort`;
    }
    const oneTooMany = (limit: number) => [Array.from({ length: limit + 1 }, () => ({}))];
    return pokeOne(draw, [
      { object: spec, key: 'networks', field: 'networks', values: oneTooMany(SPEC_LIMITS.networks) },
      ...networksOf(spec).map(({ value, field }) => ({ object: value, key: 'endpoints', field: `${field}.endpoints`, values: oneTooMany(SPEC_LIMITS.endpointsPerNetwork) })),
      ...endpointsOf(spec).map(({ value, field }) => ({ object: value, key: 'ports', field: `${field}.ports`, values: oneTooMany(SPEC_LIMITS.portsPerEndpoint) })),
      ...(spec.ingress ? [{ object: spec.ingress, key: 'ports', field: 'ingress.ports', values: oneTooMany(SPEC_LIMITS.ingressPorts) }] : []),
    ]);
  },

  /** A value of the wrong type or outside its choices, or a key the spec does not have. */
  typeOrKey: (spec, draw) => pokeOne(draw, [
    { object: spec, key: 'backend', field: 'backend', values: ['pf', 'iptables-legacy', '', 1] },
    ...['ipv4', 'ipv6', 'userlandProxy'].map((key) => ({ object: spec, key, field: key, values: ['yes', 0, null] })),
    { object: spec, key: 'extra', field: 'extra', values: [true] },
    ...networksOf(spec).flatMap(({ value, field }) => [
      { object: value, key: 'gatewayMode', field: `${field}.gatewayMode`, values: ['bridge', 'NAT', ...(value.internal ? [] : ['isolated'])] },
      { object: value, key: 'icc', field: `${field}.icc`, values: ['no', 1] },
      { object: value, key: 'masq', field: `${field}.masq`, values: [true] },
    ]),
    ...portsOf(spec).flatMap(({ value, field }) => [
      { object: value, key: 'proto', field: `${field}.proto`, values: ['icmp', 'TCP', '', 6] },
      { object: value, key: 'hostIp', field: `${field}.hostIp`, values: ['198.51.100.300', 'localhost', '2001:db8::/64'] },
    ]),
  ]),
} satisfies Record<string, Mutation>;

export type MutationName = keyof typeof MUTATIONS;
const MUTATION_NAMES = Object.keys(MUTATIONS) as MutationName[];

/** A valid spec for `backend`, or (half the time) one with exactly one invalid field. */
export function hostileSpec(next: () => number, backend: FirewallBackend): HostileSpec {
  const draw = new Draw(next);
  const spec = validSpec(draw, backend);
  if (draw.chance(0.5)) return { spec };
  // Mutations in random order until one applies; `typeOrKey` always does.
  const names = [...MUTATION_NAMES];
  for (;;) {
    const mutation = draw.take(names);
    const field = MUTATIONS[mutation](spec, draw);
    if (field !== undefined) return { spec, invalid: { field, mutation } };
  }
}

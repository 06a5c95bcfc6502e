/**
 * A deterministic generator of random and hostile specs: each field is drawn
 * from valid values and from values the library must reject (wrong family,
 * out of range, overlong or quoted names, wrong types, absurd sizes), so a
 * seed reproduces any failure.
 */
import type { SpecInput } from '../../src/spec/types.js';

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

const BRIDGES: unknown[] = [
  'br-a', 'br-b', 'docker0', 'br-0123456789ab', 'br with space', 'br"quote', "br'q", 'br-0123456789abcdef', '', 'br;rm',
  'br\n', 'br*', 'ä', 'br/x', 'lo', 42, null, 'x'.repeat(100),
];
const SUBNETS4: unknown[] = ['198.18.1.0/24', '198.18.2.0/24', '198.18.1.0/25', '198.18.1.1/24', '198.18.0.0/33', '2001:db8:1::/64', '999.1.1.0/24', '', 7];
const SUBNETS6: unknown[] = ['2001:db8:1::/64', '2001:db8:2::/64', '2001:db8:1::/129', '198.18.1.0/24', 'fe80::/10', '2001:db8::1::/64'];
const ADDRESSES4: unknown[] = ['198.18.1.2', '198.18.2.2', '198.18.1.0', '198.18.1.255', '203.0.113.9', '2001:db8:1::2', '1.2.3', '198.18.1.2/32', undefined];
const ADDRESSES6: unknown[] = ['2001:db8:1::2', '2001:db8:2::2', '198.18.1.2', '2001:db8:1::2/64', 'zz::1', undefined];
const HOST_IPS: unknown[] = [undefined, '0.0.0.0', '::', '127.0.0.1', '::1', '203.0.113.1', '2001:db8:ff::1', '198.51.100.300', 'localhost'];
const PORTS: unknown[] = [80, 8080, 65535, 0, 65536, -1, 1.5, '8080-8081', '8081-8080', '1-65535', '80-', 'abc', NaN, 1e9, '20000-29999'];
const PROTOS: unknown[] = ['tcp', 'udp', 'sctp', 'icmp', 'TCP', '', 1];
const MODES: unknown[] = [undefined, 'nat', 'nat-unprotected', 'routed', 'isolated', 'bridge'];
const BOOLS: unknown[] = [undefined, true, false, 'yes', 0];

export function hostileSpec(next: () => number): SpecInput {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  const count = (max: number) => Math.floor(next() * (max + 1));
  const maybe = <T>(value: () => T): T | undefined => (next() < 0.5 ? value() : undefined);
  const port = () => ({ proto: pick(PROTOS), hostIp: pick(HOST_IPS), hostPort: maybe(() => pick(PORTS)), containerPort: pick(PORTS) });
  const network = () => ({
    bridge: pick(BRIDGES),
    internal: pick(BOOLS),
    icc: pick(BOOLS),
    gatewayMode: pick(MODES),
    ipv4: maybe(() => ({ subnet: pick(SUBNETS4), hostIp: maybe(() => pick(HOST_IPS)) })),
    ipv6: maybe(() => ({ subnet: pick(SUBNETS6) })),
    endpoints: Array.from({ length: count(2) }, () => ({
      ipv4: pick(ADDRESSES4), ipv6: pick(ADDRESSES6), ports: Array.from({ length: count(3) }, port),
    })),
  });
  const spec = {
    backend: pick(['iptables', 'iptables', 'nftables', 'pf'] as unknown[]),
    ipv4: pick(BOOLS),
    ipv6: pick(BOOLS),
    userlandProxy: pick(BOOLS),
    networks: next() < 0.05 ? 'all' : Array.from({ length: count(3) }, network),
    ingress: maybe(() => ({ bridge: pick(['docker_gwbridge', ...BRIDGES]), address: pick(ADDRESSES4), ports: [{ proto: pick(PROTOS), port: pick(PORTS) }] })),
  };
  return JSON.parse(JSON.stringify(spec)) as SpecInput;
}

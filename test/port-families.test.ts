/**
 * Host addresses and families as Docker decides them (moby
 * drivers/bridge/port_mapping_linux.go, configurePortBindingIPv4/IPv6): an
 * IPv4 host address, 0.0.0.0 included, publishes on IPv4 only; an IPv6 one,
 * :: included, on IPv6 only; no host address on every family the endpoint
 * has an address in.
 */
import test from 'ava';
import { buildModel } from '../src/docker/model.js';
import { ValidationError } from '../src/errors.js';
import type { PortInput, PortSpecInput, SpecInput } from '../src/input/types.js';
import { parseSpec } from '../src/input/validate.js';

const spec = (ports: PortInput[], endpoint: { ipv4?: string; ipv6?: string } = { ipv4: '192.0.2.2', ipv6: '2001:db8::2' }): SpecInput => ({
  ipv6: true,
  networks: [{
    bridge: 'br0', ipv4: { subnet: '192.0.2.0/24' }, ipv6: { subnet: '2001:db8::/64' },
    endpoints: [{ ...endpoint, ports }],
  }],
});
const tcp = (hostPort: number, hostIp?: string): PortSpecInput => ({ proto: 'tcp', ...(hostIp ? { hostIp } : {}), hostPort, containerPort: 80 });

/** Per family, the published host side of each binding: `address:port`, `*` for every address of the family. */
function published(input: SpecInput): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const family of buildModel(parseSpec(input)).families) {
    result[family.family] = family.networks.flatMap((network) => network.endpoints.flatMap((endpoint) =>
      endpoint.bindings.map((binding) => `${binding.hostAddress ?? '*'}:${binding.hostPort}`)));
  }
  return result;
}

test('Docker\'s own bindings for -p 8080:80, on 0.0.0.0 and ::, are two bindings, one per family', (t) => {
  t.deepEqual(published(spec([tcp(8080, '0.0.0.0'), tcp(8080, '::')])), { ipv4: ['*:8080'], ipv6: ['*:8080'] });
});

test('0.0.0.0 publishes on IPv4 only and :: on IPv6 only', (t) => {
  t.deepEqual(published(spec([tcp(8080, '0.0.0.0')])), { ipv4: ['*:8080'], ipv6: [] });
  t.deepEqual(published(spec([tcp(8080, '::')])), { ipv4: [], ipv6: ['*:8080'] });
  t.deepEqual(published(spec([tcp(8080, '0:0::0')])), { ipv4: [], ipv6: ['*:8080'] });
});

test('no host address publishes on every family the endpoint has an address in', (t) => {
  t.deepEqual(published(spec([tcp(8080)])), { ipv4: ['*:8080'], ipv6: ['*:8080'] });
  t.deepEqual(published(spec([tcp(8080)], { ipv6: '2001:db8::2' })), { ipv4: [], ipv6: ['*:8080'] });
});

test('0.0.0.0 on an endpoint without an IPv4 address, or :: without IPv6, publishes nothing, as in Docker', (t) => {
  t.deepEqual(published(spec([tcp(8080, '0.0.0.0')], { ipv6: '2001:db8::2' })), { ipv4: [], ipv6: [] });
  t.deepEqual(published(spec([tcp(8080, '::')], { ipv4: '192.0.2.2' })), { ipv4: [], ipv6: [] });
  // And it holds no host port: the same port on the other family's unspecified address is free.
  t.notThrows(() => parseSpec(spec([tcp(8080, '0.0.0.0'), tcp(8080)], { ipv6: '2001:db8::2' })));
  // Nor is a host port chosen for it.
  t.deepEqual(parseSpec(spec(['0.0.0.0::80'], { ipv6: '2001:db8::2' })).networks[0]!.endpoints[0]!.ports, [{ proto: 'tcp', hostIp: '0.0.0.0', containerPort: { first: 80, last: 80 } }]);
});

test(':: with IPv6 disabled programs nothing', (t) => {
  const model = buildModel(parseSpec({ ...spec([tcp(8080, '::')]), ipv6: false }));
  t.deepEqual(model.families.map((family) => family.family), ['ipv4']);
  t.deepEqual(model.families[0]!.networks[0]!.endpoints[0]!.bindings, []);
});

test('0.0.0.0:8080 clashes with 8080 on every address on IPv4 only, :: on IPv6 only', (t) => {
  for (const [ports, family] of [
    [[tcp(8080, '0.0.0.0'), tcp(8080)], 'ipv4'],
    [[tcp(8080), tcp(8080, '0.0.0.0')], 'ipv4'],
    [[tcp(8080, '::'), tcp(8080)], 'ipv6'],
    [[tcp(8080, '0.0.0.0'), tcp(8080, '0.0.0.0')], 'ipv4'],
    [[tcp(8080, '0.0.0.0'), tcp(8080, '192.0.2.1')], 'ipv4'],
    [[tcp(8080, '::'), tcp(8080, '2001:db8::1')], 'ipv6'],
  ] as const) {
    const error = t.throws(() => parseSpec(spec([...ports])), { instanceOf: ValidationError });
    t.is(error.field, 'networks[0].endpoints[0].ports[1].hostPort');
    t.regex(error.message, new RegExp(`\\(${family}\\)`));
  }
  // A specific address of one family and the other family's unspecified address do not meet.
  t.notThrows(() => parseSpec(spec([tcp(8080, '::'), tcp(8080, '192.0.2.1')])));
  t.notThrows(() => parseSpec(spec([tcp(8080, '0.0.0.0'), tcp(8080, '2001:db8::1')])));
  t.notThrows(() => parseSpec(spec([tcp(8080, '0.0.0.0'), { ...tcp(8080, '::'), proto: 'udp' }])));
});

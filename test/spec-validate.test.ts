/** parseSpec: defaults, canonical forms, and every kind of invalid input rejected with the field that is wrong. */
import test from 'ava';
import { ValidationError } from '../src/errors.js';
import { parseSpec, SPEC_LIMITS } from '../src/input/validate.js';

const network = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  bridge: 'br-dummy',
  ipv4: { subnet: '192.168.0.0/24' },
  ipv6: { subnet: 'fd49:efd7:54aa::/64' },
  ...extra,
});
const withPorts = (...ports: unknown[]): unknown => ({
  networks: [network({ endpoints: [{ ipv4: '192.168.0.2', ipv6: 'fd49:efd7:54aa::1', ports }] })],
});

test('defaults are filled', (t) => {
  t.deepEqual(parseSpec({}), { backend: 'nftables', ipv4: true, ipv6: false, userlandProxy: true, ipForward: true, forwardDrop: true, networks: [] });
  t.deepEqual(parseSpec({ networks: [{ bridge: 'docker0', ipv4: { subnet: '172.17.0.0/16' } }] }).networks[0], {
    bridge: 'docker0', internal: false, icc: true, masquerade: true, gatewayMode: 'nat',
    ipv4: { subnet: '172.17.0.0/16' }, endpoints: [],
  });
});

test('addresses become canonical and ports become ranges', (t) => {
  const spec = parseSpec({
    networks: [{
      bridge: 'br0',
      ipv4: { subnet: '10.0.0.0/8', hostIp: '192.0.2.1' }, // host bits set (10.0.0.7/8) are refused: test/spec-strict.test.ts
      ipv6: { subnet: 'FD49:EFD7:54AA:0:0::/64' },
      endpoints: [{ ipv6: 'fd49:efd7:54aa:0::0001', ports: [{ proto: 'udp', hostPort: '53-54', containerPort: '5353-5354' }] }],
    }],
  });
  const parsed = spec.networks[0]!;
  t.is(parsed.ipv4!.subnet, '10.0.0.0/8');
  t.is(parsed.ipv6!.subnet, 'fd49:efd7:54aa::/64');
  t.is(parsed.endpoints[0]!.ipv6, 'fd49:efd7:54aa::1');
  t.deepEqual(parsed.endpoints[0]!.ports[0], { proto: 'udp', hostPort: { first: 53, last: 54 }, containerPort: { first: 5353, last: 5354 } });
});

test('the brief\'s example spec is valid', (t) => {
  t.notThrows(() => parseSpec({
    backend: 'iptables', ipv4: true, ipv6: false, userlandProxy: true,
    networks: [{
      bridge: 'br-dummy', internal: false, icc: true, masquerade: true, gatewayMode: 'nat',
      ipv4: { subnet: '192.168.0.0/24', hostIp: '192.168.123.0' },
      ipv6: { subnet: 'fd49:efd7:54aa::/64' },
      endpoints: [{
        ipv4: '192.168.0.2', ipv6: 'fd49:efd7:54aa::1',
        ports: [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 }],
      }],
    }],
    ingress: { bridge: 'docker_gwbridge', address: '172.18.0.2', ports: [{ proto: 'tcp', port: 8080 }] },
  }));
});

const invalidCases: [string, unknown, string][] = [
  ['not an object', [], 'spec'],
  ['unknown key at the root', { firewall: 'iptables' }, 'firewall'],
  ['unknown key in a port', withPorts({ proto: 'tcp', containerPort: 80, hostPorts: 1 }), 'networks[0].endpoints[0].ports[0].hostPorts'],
  ['unknown backend', { backend: 'pf' }, 'backend'],
  ['non-boolean family', { ipv6: 'yes' }, 'ipv6'],
  ['networks not an array', { networks: {} }, 'networks'],
  ['bridge name too long', { networks: [network({ bridge: 'br-0123456789abc' })] }, 'networks[0].bridge'],
  ['bridge name with a slash', { networks: [network({ bridge: 'br/0' })] }, 'networks[0].bridge'],
  ['bridge name with a space', { networks: [network({ bridge: 'br 0' })] }, 'networks[0].bridge'],
  ['bridge name as an iptables wildcard', { networks: [network({ bridge: 'br+' })] }, 'networks[0].bridge'],
  ['bridge name with multi-byte characters', { networks: [network({ bridge: 'brü' })] }, 'networks[0].bridge'],
  ['missing bridge', { networks: [{ ipv4: { subnet: '10.0.0.0/8' } }] }, 'networks[0].bridge'],
  ['the same bridge twice', { networks: [network(), network({ ipv4: { subnet: '10.0.0.0/8' }, ipv6: undefined })] }, 'networks[1].bridge'],
  ['unknown gateway mode', { networks: [network({ gatewayMode: 'bridge' })] }, 'networks[0].gatewayMode'],
  ['isolated but not internal', { networks: [network({ gatewayMode: 'isolated' })] }, 'networks[0].gatewayMode'],
  ['no subnet at all', { networks: [{ bridge: 'br0' }] }, 'networks[0].ipv4'],
  ['bad subnet', { networks: [network({ ipv4: { subnet: '192.168.0.0/33' } })] }, 'networks[0].ipv4.subnet'],
  ['subnet in short IPv4 form', { networks: [network({ ipv4: { subnet: '10/8' } })] }, 'networks[0].ipv4.subnet'],
  ['IPv6 subnet as ipv4', { networks: [network({ ipv4: { subnet: 'fd00::/64' } })] }, 'networks[0].ipv4.subnet'],
  ['IPv4 subnet as ipv6', { networks: [network({ ipv6: { subnet: '10.0.0.0/8' } })] }, 'networks[0].ipv6.subnet'],
  ['overlapping subnets', { networks: [network(), network({ bridge: 'br1', ipv4: { subnet: '192.168.0.128/25' }, ipv6: undefined })] }, 'networks[1].ipv4.subnet'],
  ['host IP of the wrong family', { networks: [network({ ipv4: { subnet: '10.0.0.0/8', hostIp: 'fd00::1' } })] }, 'networks[0].ipv4.hostIp'],
  ['bad endpoint address', { networks: [network({ endpoints: [{ ipv4: '192.168.0.256' }] })] }, 'networks[0].endpoints[0].ipv4'],
  ['endpoint address outside the subnet', { networks: [network({ endpoints: [{ ipv4: '192.168.1.2' }] })] }, 'networks[0].endpoints[0].ipv4'],
  ['endpoint IPv6 outside the subnet', { networks: [network({ endpoints: [{ ipv6: 'fd00::2' }] })] }, 'networks[0].endpoints[0].ipv6'],
  ['endpoint IPv6 with a zone', { networks: [network({ endpoints: [{ ipv6: 'fd49:efd7:54aa::1%eth0' }] })] }, 'networks[0].endpoints[0].ipv6'],
  ['endpoint address without a subnet', { networks: [network({ ipv6: undefined, endpoints: [{ ipv6: 'fd49:efd7:54aa::1' }] })] }, 'networks[0].endpoints[0].ipv6'],
  ['the same endpoint address twice', { networks: [network({ endpoints: [{ ipv4: '192.168.0.2' }, { ipv4: '192.168.0.2' }] })] }, 'networks[0].endpoints[1].ipv4'],
  ['endpoint without address', { networks: [network({ endpoints: [{ ports: [] }] })] }, 'networks[0].endpoints[0].ipv4'],
  ['unknown protocol', withPorts({ proto: 'icmp', containerPort: 80 }), 'networks[0].endpoints[0].ports[0].proto'],
  ['port 0', withPorts({ proto: 'tcp', hostPort: 0, containerPort: 80 }), 'networks[0].endpoints[0].ports[0].hostPort'],
  ['port above 65535', withPorts({ proto: 'tcp', hostPort: 8080, containerPort: 65536 }), 'networks[0].endpoints[0].ports[0].containerPort'],
  ['port range above 65535', withPorts({ proto: 'tcp', hostPort: '65535-65536', containerPort: '1-2' }), 'networks[0].endpoints[0].ports[0].hostPort'],
  ['fractional port', withPorts({ proto: 'tcp', containerPort: 80.5 }), 'networks[0].endpoints[0].ports[0].containerPort'],
  ['reversed range', withPorts({ proto: 'tcp', containerPort: '81-80' }), 'networks[0].endpoints[0].ports[0].containerPort'],
  ['missing container port', withPorts({ proto: 'tcp', hostPort: 80 }), 'networks[0].endpoints[0].ports[0].containerPort'],
  ['ranges of unequal length', withPorts({ proto: 'tcp', hostPort: '8080-8082', containerPort: '80-81' }), 'networks[0].endpoints[0].ports[0].hostPort'],
  ['bad host IP', withPorts({ proto: 'tcp', hostIp: 'localhost', hostPort: 8080, containerPort: 80 }), 'networks[0].endpoints[0].ports[0].hostIp'],
  [
    'the same host address, protocol and port twice',
    withPorts({ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 }, { proto: 'tcp', hostIp: '127.0.0.1', hostPort: '8079-8080', containerPort: '81-82' }),
    'networks[0].endpoints[0].ports[1].hostPort',
  ],
  [
    'a host port taken on every address',
    withPorts({ proto: 'udp', hostPort: 53, containerPort: 53 }, { proto: 'udp', hostIp: '::1', hostPort: 53, containerPort: 5353 }),
    'networks[0].endpoints[0].ports[1].hostPort',
  ],
  [
    'the same host port in another network',
    {
      networks: [
        network({ endpoints: [{ ipv4: '192.168.0.2', ports: [{ proto: 'tcp', hostPort: 80, containerPort: 80 }] }] }),
        { bridge: 'br1', ipv4: { subnet: '10.0.0.0/8' }, endpoints: [{ ipv4: '10.0.0.2', ports: [{ proto: 'tcp', hostPort: 80, containerPort: 80 }] }] },
      ],
    },
    'networks[1].endpoints[0].ports[0].hostPort',
  ],
  [
    'host IP of a family the endpoint has no address in',
    { networks: [network({ endpoints: [{ ipv4: '192.168.0.2', ports: [{ proto: 'tcp', hostIp: '::1', hostPort: 80, containerPort: 80 }] }] })] },
    'networks[0].endpoints[0].ports[0].hostIp',
  ],
  ['too many networks', { networks: Array.from({ length: SPEC_LIMITS.networks + 1 }, () => ({})) }, 'networks'],
  [
    'too many published ports',
    withPorts({ proto: 'tcp', containerPort: '1-65535' }, { proto: 'udp', containerPort: '1-65535' }, { proto: 'sctp', containerPort: '1-10' }),
    'networks[0].endpoints[0].ports[2].containerPort',
  ],
  ['ingress without bridge', { ingress: { address: '172.18.0.2', ports: [] } }, 'ingress.bridge'],
  ['ingress with an IPv6 address', { ingress: { bridge: 'docker_gwbridge', address: 'fd00::2', ports: [] } }, 'ingress.address'],
  [
    'ingress address outside its bridge\'s subnet',
    { networks: [{ bridge: 'docker_gwbridge', ipv4: { subnet: '172.18.0.0/16' } }], ingress: { bridge: 'docker_gwbridge', address: '172.19.0.2' } },
    'ingress.address',
  ],
  ['ingress port 0', { ingress: { bridge: 'docker_gwbridge', address: '172.18.0.2', ports: [{ proto: 'tcp', port: 0 }] } }, 'ingress.ports[0].port'],
  [
    'ingress port twice',
    { ingress: { bridge: 'docker_gwbridge', address: '172.18.0.2', ports: [{ proto: 'tcp', port: 80 }, { proto: 'tcp', port: 80 }] } },
    'ingress.ports[1].port',
  ],
  ['ingress with IPv4 disabled', { ipv4: false, ipv6: true, ingress: { bridge: 'docker_gwbridge', address: '172.18.0.2' } }, 'ingress'],
];

for (const [title, input, field] of invalidCases) {
  test(`rejects ${title} at ${field}`, (t) => {
    const error = t.throws(() => parseSpec(input), { instanceOf: ValidationError });
    t.is(error?.field, field, error?.message);
  });
}

test('messages say what was expected and what was received', (t) => {
  const error = t.throws(() => parseSpec(withPorts({ proto: 'tcp', hostPort: 0, containerPort: 80 })), { instanceOf: ValidationError });
  t.regex(error!.message, /Expected a port from 1 to 65535.* for networks\[0\]\.endpoints\[0\]\.ports\[0\]\.hostPort but received 0/);
});

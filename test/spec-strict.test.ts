/**
 * Validation as strict as Docker's, and interface names the kernel would
 * take: subnets with host bits set, the default route as a subnet, endpoints
 * on a subnet's reserved addresses, bridge names that are not interfaces
 * (all, default). Each is refused before anything reaches the kernel, on
 * every backend.
 */
import test from 'ava';
import { ValidationError } from '../src/errors.js';
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/input/types.js';
import { parseSpec } from '../src/input/validate.js';
import { writeSysctls } from '../src/sysctl.js';
import { createNetns, kernelTest, normaliseSave, type TestNetns } from './helpers/netns.js';

const refused = (input: unknown, field: string): ((t: import('ava').ExecutionContext) => ValidationError) => (t) => {
  const error = t.throws(() => parseSpec(input), { instanceOf: ValidationError })!;
  t.is(error.field, field, error.message);
  return error;
};

const one = (network: Record<string, unknown>): unknown => ({ networks: [{ bridge: 'br-web', ...network }] });

test('a subnet with host bits set is refused with the network address in the message (moby daemon/network.go)', (t) => {
  const ipv4 = refused(one({ ipv4: { subnet: '198.18.1.5/24' } }), 'networks[0].ipv4.subnet')(t);
  t.regex(ipv4.message, /did you mean 198\.18\.1\.0\/24\?.* but received "198\.18\.1\.5\/24"/);
  const ipv6 = refused(one({ ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::7/64' } }), 'networks[0].ipv6.subnet')(t);
  t.regex(ipv6.message, /did you mean 2001:db8:1::\/64\?/);
  refused({ networks: [{ bridge: 'br0', ipv4: { subnet: '198.18.0.0/24' } }, { bridge: 'br1', ipv4: { subnet: '198.18.1.1/24' } }] },
    'networks[1].ipv4.subnet')(t);
  // Canonical forms of a network address stay accepted: only the value matters.
  t.is(parseSpec(one({ ipv6: { subnet: '2001:DB8:1:0:0::/64' } })).networks[0]!.ipv6!.subnet, '2001:db8:1::/64');
  t.is(parseSpec(one({ ipv4: { subnet: '198.18.1.4/30' } })).networks[0]!.ipv4!.subnet, '198.18.1.4/30');
});

test('the default route is not a subnet (moby bridge_linux.go: "ipv4 pool is empty")', (t) => {
  for (const [family, subnet] of [['ipv4', '0.0.0.0/0'], ['ipv6', '::/0']] as const) {
    const error = refused(one({ [family]: { subnet } }), `networks[0].${family}.subnet`)(t);
    t.regex(error.message, /prefix length of at least 1/);
  }
  // Host bits and the default route at once: the default route is what is wrong.
  t.regex(refused(one({ ipv4: { subnet: '10.0.0.0/0' } }), 'networks[0].ipv4.subnet')(t).message, /prefix length of at least 1/);
});

test('an endpoint on its subnet\'s network or broadcast address is refused (moby defaultipam newPoolData)', (t) => {
  const cases: [Record<string, unknown>, Record<string, unknown>, string, RegExp][] = [
    [{ ipv4: { subnet: '198.18.1.0/24' } }, { ipv4: '198.18.1.0' }, 'ipv4', /not its network address/],
    [{ ipv4: { subnet: '198.18.1.0/24' } }, { ipv4: '198.18.1.255' }, 'ipv4', /not its broadcast address/],
    [{ ipv4: { subnet: '198.18.1.4/30' } }, { ipv4: '198.18.1.7' }, 'ipv4', /not its broadcast address/],
    // IPv6 has no broadcast; its first address is the Subnet-Router anycast address (RFC 4291 2.6.1).
    [{ ipv6: { subnet: '2001:db8:1::/64' } }, { ipv6: '2001:db8:1::' }, 'ipv6', /not its subnet-router anycast address/],
  ];
  for (const [subnet, endpoint, family, message] of cases) {
    const error = refused(one({ ...subnet, endpoints: [endpoint] }), `networks[0].endpoints[0].${family}`)(t);
    t.regex(error.message, message);
  }
  // The addresses next to them are endpoints like any other.
  const spec = parseSpec(one({
    ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::/64' },
    endpoints: [{ ipv4: '198.18.1.1', ipv6: '2001:db8:1::1' }, { ipv4: '198.18.1.254', ipv6: '2001:db8:1:0:ffff:ffff:ffff:ffff' }],
  }));
  t.is(spec.networks[0]!.endpoints.length, 2);
  // A /31 is a point-to-point link (RFC 3021) and a /32 one address: Docker reserves nothing there.
  t.is(parseSpec(one({ ipv4: { subnet: '198.18.1.0/31' }, endpoints: [{ ipv4: '198.18.1.0' }, { ipv4: '198.18.1.1' }] }))
    .networks[0]!.endpoints.length, 2);
  t.is(parseSpec(one({ ipv4: { subnet: '198.18.1.9/32' }, endpoints: [{ ipv4: '198.18.1.9' }] })).networks[0]!.endpoints.length, 1);
});

test('the ingress address follows the same rule in its bridge\'s subnet', (t) => {
  const error = refused({
    networks: [{ bridge: 'docker_gwbridge', ipv4: { subnet: '172.18.0.0/16' } }],
    ingress: { bridge: 'docker_gwbridge', address: '172.18.255.255', ports: [] },
  }, 'ingress.address')(t);
  t.regex(error.message, /not its broadcast address/);
});

test('bridge names the kernel refuses for an interface, and all and default, are refused (Linux dev_valid_name)', (t) => {
  for (const name of ['all', 'default', '.', '..', '', 'a'.repeat(16), 'br:0', 'br/0', 'br\t0', 'br\n0', 'br 0']) {
    const error = refused(one({ bridge: name, ipv4: { subnet: '198.18.1.0/24' } }), 'networks[0].bridge')(t);
    t.regex(error.message, /interface name/);
    refused({ ingress: { bridge: name, address: '172.18.0.2', ports: [] } }, 'ingress.bridge')(t);
  }
  for (const name of ['all0', 'default-br', 'a'.repeat(15), 'br.1', 'docker_gwbridge']) {
    t.is(parseSpec(one({ bridge: name, ipv4: { subnet: '198.18.1.0/24' } })).networks[0]!.bridge, name);
  }
});

test('no sysctl names an interface that was not checked as one', async (t) => {
  const write = (path: string[], extra: Record<string, string> = {}) => writeSysctls('/nonexistent', [{ path, value: '1', ...extra }]);
  for (const [path, extra] of [
    // A per-interface entry says which interface it is for, and that name must be an interface's.
    [['net', 'ipv4', 'conf', 'br-web', 'route_localnet'], {}],
    [['net', 'ipv4', 'conf', 'all', 'route_localnet'], { interface: 'all' }],
    [['net', 'ipv6', 'conf', 'default', 'forwarding'], { interface: 'default' }],
    [['net', 'ipv4', 'conf', 'br-web', 'route_localnet'], { interface: 'br-db' }],
    [['net', 'ipv4', 'ip_forward'], { interface: 'br-web' }],
  ] as const) {
    const error = await t.throwsAsync(write([...path], extra), { instanceOf: ValidationError }, path.join('.'));
    t.regex(error!.field, /^sysctls\[0\]/);
  }
});

const BACKENDS = ['iptables', 'iptables-nft', 'nftables'] as const;

/** The iptables-nft tables, which its save tool prints (as a fresh namespace's while they are empty or absent). */
const IPTABLES_NFT_TABLE = /^table (ip|ip6) (raw|filter|nat|mangle)$/;

async function ruleset(ns: TestNetns): Promise<string> {
  let text = '';
  for (const tool of ['iptables-legacy-save', 'iptables-nft-save', 'ip6tables-nft-save']) {
    for (const table of ['raw', 'filter', 'nat']) text += normaliseSave(await ns.run(tool, '-t', table));
  }
  // Every other nf_tables table, whole.
  for (const table of (await ns.run('nft', 'list', 'tables')).split('\n').filter((line) => line && !IPTABLES_NFT_TABLE.test(line))) {
    text += await ns.run('nft', 'list', ...table.split(' '));
  }
  return text;
}

kernelTest('a default-route subnet is refused on every backend and leaves nothing behind; flush removes what was written', async (t) => {
  for (const backend of BACKENDS) {
    const ns = await createNetns(t, `zero${backend.slice(0, 3)}`);
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    const before = await ruleset(ns);
    const spec = (subnet: string): SpecInput => ({
      backend, userlandProxy: false,
      networks: [{ bridge: 'br-any', ipv4: { subnet }, endpoints: [{ ipv4: '198.18.1.2' }] }],
    });
    // Applied twice, as a watcher would: before the fix each apply added another `! -o br-any -j MASQUERADE`.
    for (let i = 0; i < 2; i++) {
      const error = await t.throwsAsync(firewall.apply(spec('0.0.0.0/0')), { instanceOf: ValidationError });
      t.is(error!.field, 'networks[0].ipv4.subnet');
    }
    await t.throwsAsync(firewall.addNetwork({ bridge: 'br-any6', ipv6: { subnet: '::/0' } }), { instanceOf: ValidationError });
    t.is(await ruleset(ns), before, backend);

    await firewall.apply(spec('198.18.1.0/24'));
    t.regex(await ruleset(ns), /MASQUERADE|masquerade/);
    const flushed = await firewall.flush(backend);
    t.true(flushed.changes > 0);
    t.is(await ruleset(ns), before, `${backend}: flush leaves the namespace as it was`);
  }
});

kernelTest('a bridge named all or default is refused and no namespace-wide sysctl is written, on every backend', async (t) => {
  for (const backend of BACKENDS) {
    const ns = await createNetns(t, `all${backend.slice(0, 3)}`);
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    const routeLocalnet = async () => (await ns.run('cat', '/proc/sys/net/ipv4/conf/all/route_localnet',
      '/proc/sys/net/ipv4/conf/default/route_localnet')).trim();
    t.is(await routeLocalnet(), '0\n0');
    for (const bridge of ['all', 'default']) {
      const error = await t.throwsAsync(firewall.apply({
        backend, userlandProxy: false, networks: [{ bridge, ipv4: { subnet: '198.18.1.0/24' } }],
      }), { instanceOf: ValidationError });
      t.is(error!.field, 'networks[0].bridge');
      await t.throwsAsync(firewall.apply({
        backend, ingress: { bridge, address: '172.18.0.2', ports: [{ proto: 'tcp', port: 8080 }] },
      }), { instanceOf: ValidationError, message: /^ingress\.bridge:/ });
    }
    t.is(await routeLocalnet(), '0\n0', backend);
  }
});

/**
 * The project's own expectations where Docker ships no golden: several
 * networks, endpoints and ports, a port range, swarm ingress, and IPv6.
 * Each expected line was derived from Docker v29's source
 * (daemon/libnetwork/drivers/bridge/internal/iptabler, firewall_linux.go,
 * service_linux.go, portmapperapi.PortBindingReq.Compare). The rule of thumb
 * behind every order below: Docker inserts at the head (-I) or appends (-A),
 * so a chain reads "inserts, latest first" then "appends, earliest first".
 * (The IPv6 output was also checked against all of moby's ip6tables goldens.)
 * The same scenarios made one call at a time through the Firewall, and
 * removed again, are checked in the kernel.
 */
import test from 'ava';
import { buildModel } from '../src/docker/model.js';
import { planIptables, renderIptablesSave } from '../src/docker/iptables/plan.js';
import { Firewall } from '../src/firewall.js';
import { parseSpec } from '../src/input/validate.js';
import type { SpecInput } from '../src/input/types.js';
import { dockerIptablesGoldens, withoutDockerUser } from './helpers/conformance.js';
import { savedTables } from './helpers/iptables-flavour.js';
import { createNetns, kernelTest } from './helpers/netns.js';

const lines = (...text: string[]): string => `${text.join('\n')}\n`;

const CLEANED_WITH_PROXY = lines(
  '*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT',
  '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
  ':DOCKER - [0:0]', ':DOCKER-BRIDGE - [0:0]', ':DOCKER-CT - [0:0]', ':DOCKER-FORWARD - [0:0]',
  ':DOCKER-INTERNAL - [0:0]', ':DOCKER-USER - [0:0]',
  '-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-FORWARD',
  '-A DOCKER-FORWARD -j DOCKER-CT', '-A DOCKER-FORWARD -j DOCKER-INTERNAL', '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
  'COMMIT',
  '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
  ':DOCKER - [0:0]',
  '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
  '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
  'COMMIT',
);

const SWARM_HOST: SpecInput = {
  backend: 'iptables',
  networks: [
    {
      bridge: 'docker0',
      ipv4: { subnet: '172.17.0.0/16' },
      endpoints: [
        {
          ipv4: '172.17.0.2',
          // Programmed sorted by container port (Compare), not in this order: 53, 80, 9000, 9001.
          ports: [
            { proto: 'tcp', hostPort: 8080, containerPort: 80 },
            { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53 },
            { proto: 'tcp', hostPort: '9000-9001', containerPort: '9000-9001' },
          ],
        },
        { ipv4: '172.17.0.3', ports: [{ proto: 'tcp', hostPort: 8081, containerPort: 80 }] },
      ],
    },
    {
      bridge: 'br-routed',
      gatewayMode: 'routed',
      icc: false,
      ipv4: { subnet: '10.10.0.0/24' },
      endpoints: [{ ipv4: '10.10.0.5', ports: [{ proto: 'tcp', containerPort: 443 }] }],
    },
    { bridge: 'br-internal', internal: true, ipv4: { subnet: '10.20.0.0/24' } },
    // As swarm creates it: no ICC, and the ingress sandbox is an endpoint on it.
    { bridge: 'docker_gwbridge', icc: false, ipv4: { subnet: '172.18.0.0/16' }, endpoints: [{ ipv4: '172.18.0.2' }] },
  ],
  ingress: {
    bridge: 'docker_gwbridge',
    address: '172.18.0.2',
    ports: [{ proto: 'tcp', port: 30000 }, { proto: 'udp', port: 30001 }],
  },
};

const SWARM_HOST_SAVE = lines(
  '*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
  // Appended as endpoints and their ports are added; routed and internal networks add none.
  '-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP',
  '-A PREROUTING -d 127.0.0.1/32 ! -i lo -p udp -m udp --dport 5353 -j DROP',
  '-A PREROUTING -d 172.17.0.3/32 ! -i docker0 -j DROP',
  '-A PREROUTING -d 172.18.0.2/32 ! -i docker_gwbridge -j DROP',
  'COMMIT',
  '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
  ':DOCKER - [0:0]', ':DOCKER-BRIDGE - [0:0]', ':DOCKER-CT - [0:0]', ':DOCKER-FORWARD - [0:0]',
  ':DOCKER-INGRESS - [0:0]', ':DOCKER-INTERNAL - [0:0]', ':DOCKER-USER - [0:0]',
  '-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-FORWARD',
  // Per-port ACCEPTs are inserted (latest binding first), network defaults appended.
  '-A DOCKER -d 10.10.0.5/32 ! -i br-routed -o br-routed -p tcp -m tcp --dport 443 -j ACCEPT',
  '-A DOCKER -d 172.17.0.3/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT',
  '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 9001 -j ACCEPT',
  '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 9000 -j ACCEPT',
  '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT',
  '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p udp -m udp --dport 53 -j ACCEPT',
  '-A DOCKER ! -i docker0 -o docker0 -j DROP',
  '-A DOCKER -o br-routed -p icmp -j ACCEPT',
  '-A DOCKER ! -i br-routed -o br-routed -j DROP',
  '-A DOCKER ! -i docker_gwbridge -o docker_gwbridge -j DROP',
  '-A DOCKER-BRIDGE -o docker0 -j DOCKER',
  '-A DOCKER-BRIDGE -o br-routed -j DOCKER',
  '-A DOCKER-BRIDGE -o docker_gwbridge -j DOCKER',
  '-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  '-A DOCKER-CT -o br-routed -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  '-A DOCKER-CT -o docker_gwbridge -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  // The ingress jump is moved to the head last (EnsureJumpRule), ahead of the daemon's three.
  '-A DOCKER-FORWARD -j DOCKER-INGRESS',
  '-A DOCKER-FORWARD -j DOCKER-CT', '-A DOCKER-FORWARD -j DOCKER-INTERNAL', '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
  '-A DOCKER-FORWARD -i docker0 -j ACCEPT',
  '-A DOCKER-FORWARD -i br-routed -o br-routed -j DROP',
  '-A DOCKER-FORWARD -i br-routed ! -o br-routed -j ACCEPT',
  '-A DOCKER-FORWARD -i br-internal -o br-internal -j ACCEPT',
  '-A DOCKER-FORWARD -i docker_gwbridge -o docker_gwbridge -j DROP',
  '-A DOCKER-FORWARD -i docker_gwbridge ! -o docker_gwbridge -j ACCEPT',
  // Per port: the sport rule is inserted, then the dport rule above it; later ports above earlier ones.
  '-A DOCKER-INGRESS -p udp -m udp --dport 30001 -j ACCEPT',
  '-A DOCKER-INGRESS -p udp -m udp --sport 30001 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  '-A DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j ACCEPT',
  '-A DOCKER-INGRESS -p tcp -m tcp --sport 30000 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  '-A DOCKER-INGRESS -j RETURN',
  // Both inserted: the outbound drop (second) lands above the inbound one.
  '-A DOCKER-INTERNAL ! -s 10.20.0.0/24 -o br-internal -j DROP',
  '-A DOCKER-INTERNAL ! -d 10.20.0.0/24 -i br-internal -j DROP',
  'COMMIT',
  '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
  ':DOCKER - [0:0]', ':DOCKER-INGRESS - [0:0]',
  '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER-INGRESS',
  '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
  '-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER-INGRESS',
  '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
  // Inserted in the order docker0, docker_gwbridge, ingress (routed networks don't masquerade).
  '-A POSTROUTING -o docker_gwbridge -m addrtype --src-type LOCAL -j MASQUERADE',
  '-A POSTROUTING -s 172.18.0.0/16 ! -o docker_gwbridge -j MASQUERADE',
  '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
  // Appended in programming order; the routed binding has no host port, so no DNAT.
  '-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.2:53',
  '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80',
  '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 9000 -j DNAT --to-destination 172.17.0.2:9000',
  '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 9001 -j DNAT --to-destination 172.17.0.2:9001',
  '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.17.0.3:80',
  '-A DOCKER-INGRESS -p udp -m udp --dport 30001 -j DNAT --to-destination 172.18.0.2:30001',
  '-A DOCKER-INGRESS -p tcp -m tcp --dport 30000 -j DNAT --to-destination 172.18.0.2:30000',
  '-A DOCKER-INGRESS -j RETURN',
  'COMMIT',
);

test('several networks, endpoints, a port range and swarm ingress, in Docker\'s order', (t) => {
  const model = buildModel(parseSpec(SWARM_HOST));
  t.is(renderIptablesSave('ipv4', planIptables(model).families[0]), SWARM_HOST_SAVE);
  // route_localnet for the ingress DNAT from 127.0.0.1; br_netfilter because a network has ICC off.
  t.deepEqual(model.sysctls, [
    { path: ['net', 'ipv4', 'conf', 'docker_gwbridge', 'route_localnet'], value: '1', interface: 'docker_gwbridge' },
    { path: ['net', 'bridge', 'bridge-nf-call-iptables'], value: '1' },
  ]);
});

test('built-in chains split our rules into those above foreign rules and those below', (t) => {
  const plan = planIptables(buildModel(parseSpec(SWARM_HOST))).families[0]!;
  const nat = plan.tables.find((table) => table.name === 'nat')!;
  const postrouting = nat.chains.find((chain) => chain.name === 'POSTROUTING')!;
  t.is(postrouting.head.length, 3);
  t.is(postrouting.tail.length, 0);
  const prerouting = nat.chains.find((chain) => chain.name === 'PREROUTING')!;
  t.deepEqual(prerouting.head.map((rule) => rule.target), [{ name: 'jump', chain: 'DOCKER-INGRESS' }]);
  t.deepEqual(prerouting.tail.map((rule) => rule.target), [{ name: 'jump', chain: 'DOCKER' }]);
  const filter = plan.tables.find((table) => table.name === 'filter')!;
  t.true(filter.chains.find((chain) => chain.name === 'DOCKER-USER')!.userOwned);
});

/** Everything in `spec` beyond its daemon-level settings, added as Docker adds it: one network, endpoint and port at a time, then the ingress. */
async function addOneByOne(firewall: Firewall, spec: SpecInput): Promise<void> {
  for (const { endpoints = [], ...network } of spec.networks ?? []) {
    await firewall.addNetwork(network);
    for (const { ports = [], ...endpoint } of endpoints) {
      await firewall.addEndpoint(network.bridge, endpoint);
      // One call per port, in the spec's order rather than Docker's: each lands where the plan puts it.
      for (const port of ports) await firewall.addPorts(network.bridge, endpoint, [port]);
    }
  }
  if (spec.ingress) {
    await firewall.setIngress({ ...spec.ingress, ports: [] });
    for (const port of spec.ingress.ports) await firewall.addIngressPorts([port]);
  }
}

/** Everything `addOneByOne` added, removed in reverse: the ingress, then per network its endpoints' ports, endpoints and itself. */
async function removeOneByOne(firewall: Firewall, spec: SpecInput): Promise<void> {
  if (spec.ingress) {
    await firewall.removeIngressPorts(spec.ingress.ports);
    await firewall.setIngress(undefined);
  }
  for (const { bridge, endpoints = [] } of [...spec.networks ?? []].reverse()) {
    for (const { ports = [], ...endpoint } of [...endpoints].reverse()) {
      await firewall.removePorts(bridge, endpoint, ports);
      await firewall.removeEndpoint(bridge, endpoint);
    }
    await firewall.removeNetwork(bridge);
  }
}

kernelTest('the swarm host made one call at a time is the planned ruleset, and removed one call at a time leaves the daemon-level state', async (t) => {
  const ns = await createNetns(t, 'swarm');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply({ backend: 'iptables' });
  t.is(await savedTables(ns), CLEANED_WITH_PROXY);
  await addOneByOne(firewall, SWARM_HOST);
  t.is(await savedTables(ns), SWARM_HOST_SAVE);

  await firewall.removeIngressPorts(SWARM_HOST.ingress!.ports);
  const unpublished = await savedTables(ns);
  t.notRegex(unpublished, /--dport 3000[01]/);
  t.regex(unpublished, /^-A DOCKER-INGRESS -j RETURN$/m, 'the ingress chains stay while the ingress is set');
  await removeOneByOne(firewall, SWARM_HOST);
  t.is(await savedTables(ns), CLEANED_WITH_PROXY);
});

kernelTest('a rule two bindings share stays until the last of them goes', async (t) => {
  const ns = await createNetns(t, 'shared');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  const endpoint = { ipv4: '172.17.0.2' };
  const loopback = { proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 } as const;
  const external = { proto: 'tcp', hostIp: '192.0.2.1', hostPort: 8080, containerPort: 80 } as const;
  await firewall.apply({
    backend: 'iptables',
    networks: [{ bridge: 'docker0', ipv4: { subnet: '172.17.0.0/16' }, endpoints: [{ ...endpoint, ports: [loopback, external] }] }],
  });
  const accepts = async (): Promise<number> => (await savedTables(ns)).split('\n').filter((line) => line.startsWith('-A DOCKER -d 172.17.0.2/32')).length;
  t.is(await accepts(), 1);
  await firewall.removePorts('docker0', endpoint, [loopback]);
  t.is(await accepts(), 1);
  await firewall.removePorts('docker0', endpoint, [external]);
  t.is(await accepts(), 0);
});

const IPV6_HOST: SpecInput = {
  backend: 'iptables',
  ipv4: false,
  ipv6: true,
  userlandProxy: false,
  networks: [
    {
      bridge: 'br-dummy',
      icc: false,
      ipv6: { subnet: 'fd49:efd7:54aa::/64', hostIp: 'fd34:d0d4:672f::123' },
      endpoints: [{
        ipv6: 'fd49:efd7:54aa::1',
        ports: [
          { proto: 'tcp', hostPort: 8443, containerPort: 443 },
          { proto: 'tcp', hostIp: '::1', hostPort: 8080, containerPort: 80 },
        ],
      }],
    },
    { bridge: 'br-int', internal: true, ipv6: { subnet: 'fd00:1::/64' } },
    {
      bridge: 'br-routed',
      gatewayMode: 'routed',
      ipv6: { subnet: 'fd00:2::/64' },
      endpoints: [{ ipv6: 'fd00:2::5', ports: [{ proto: 'tcp', containerPort: 80 }] }],
    },
  ],
};

const IPV6_HOST_SAVE = lines(
  '*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
  // No loopback DROP for ::1: IPv6 loopback is not routable.
  '-A PREROUTING -d fd49:efd7:54aa::1/128 ! -i br-dummy -j DROP',
  'COMMIT',
  '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
  ':DOCKER - [0:0]', ':DOCKER-BRIDGE - [0:0]', ':DOCKER-CT - [0:0]', ':DOCKER-FORWARD - [0:0]',
  ':DOCKER-INTERNAL - [0:0]', ':DOCKER-USER - [0:0]',
  '-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-FORWARD',
  '-A DOCKER -d fd00:2::5/128 ! -i br-routed -o br-routed -p tcp -m tcp --dport 80 -j ACCEPT',
  '-A DOCKER -d fd49:efd7:54aa::1/128 ! -i br-dummy -o br-dummy -p tcp -m tcp --dport 443 -j ACCEPT',
  '-A DOCKER -d fd49:efd7:54aa::1/128 ! -i br-dummy -o br-dummy -p tcp -m tcp --dport 80 -j ACCEPT',
  '-A DOCKER ! -i br-dummy -o br-dummy -j DROP',
  '-A DOCKER -o br-routed -p ipv6-icmp -j ACCEPT',
  '-A DOCKER ! -i br-routed -o br-routed -j DROP',
  '-A DOCKER-BRIDGE -o br-dummy -j DOCKER',
  '-A DOCKER-BRIDGE -o br-routed -j DOCKER',
  '-A DOCKER-CT -o br-dummy -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  '-A DOCKER-CT -o br-routed -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  '-A DOCKER-FORWARD -j DOCKER-CT', '-A DOCKER-FORWARD -j DOCKER-INTERNAL', '-A DOCKER-FORWARD -j DOCKER-BRIDGE',
  '-A DOCKER-FORWARD -i br-dummy -o br-dummy -j DROP',
  '-A DOCKER-FORWARD -i br-dummy ! -o br-dummy -j ACCEPT',
  '-A DOCKER-FORWARD -i br-int -o br-int -j ACCEPT',
  '-A DOCKER-FORWARD -i br-routed -j ACCEPT',
  // ip6tables' internal drops also carry ! -i / ! -o.
  '-A DOCKER-INTERNAL ! -s fd00:1::/64 ! -i br-int -o br-int -j DROP',
  '-A DOCKER-INTERNAL ! -d fd00:1::/64 -i br-int ! -o br-int -j DROP',
  'COMMIT',
  '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
  ':DOCKER - [0:0]',
  '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
  // Hairpin: no loopback exclusion.
  '-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER',
  // Inserted: br-dummy's SNAT, then its local-host SNAT, then br-routed's (routed still gets the hairpin rule).
  '-A POSTROUTING -o br-routed -m addrtype --src-type LOCAL -j MASQUERADE',
  '-A POSTROUTING -o br-dummy -m addrtype --src-type LOCAL -j SNAT --to-source fd34:d0d4:672f::123',
  '-A POSTROUTING -s fd49:efd7:54aa::/64 ! -o br-dummy -j SNAT --to-source fd34:d0d4:672f::123',
  // Appended per binding, container port 80 first (Compare order).
  '-A POSTROUTING -s fd49:efd7:54aa::1/128 -d fd49:efd7:54aa::1/128 -p tcp -m tcp --dport 80 -j MASQUERADE',
  '-A POSTROUTING -s fd49:efd7:54aa::1/128 -d fd49:efd7:54aa::1/128 -p tcp -m tcp --dport 443 -j MASQUERADE',
  '-A DOCKER ! -s fe80::/10 -d ::1/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd49:efd7:54aa::1]:80',
  '-A DOCKER ! -s fe80::/10 -p tcp -m tcp --dport 8443 -j DNAT --to-destination [fd49:efd7:54aa::1]:443',
  'COMMIT',
);

test('IPv6: SNAT, hairpin, loopback binding, internal and routed networks', (t) => {
  const plan = planIptables(buildModel(parseSpec(IPV6_HOST)));
  t.deepEqual(plan.families.map((family) => family.family), ['ipv6']);
  t.is(renderIptablesSave('ipv6', plan.families[0]), IPV6_HOST_SAVE);
});

test('IPv6 ports are only published on endpoints with an IPv6 address, and ingress stays IPv4', (t) => {
  const spec = { ...SWARM_HOST, ipv6: true } as SpecInput;
  spec.networks![0] = { ...spec.networks![0]!, ipv6: { subnet: 'fd00:17::/64' } };
  spec.networks![0]!.endpoints![1] = { ...spec.networks![0]!.endpoints![1]!, ipv6: 'fd00:17::3' };
  const save = renderIptablesSave('ipv6', planIptables(buildModel(parseSpec(spec))).families[1]);
  t.true(save.includes('-A DOCKER ! -s fe80::/10 ! -i docker0 -p tcp -m tcp --dport 8081 -j DNAT --to-destination [fd00:17::3]:80\n'));
  t.false(save.includes('8080'));
  t.false(save.includes('INGRESS'));
});

kernelTest('IPv6: made one call at a time it is the planned ruleset, and removed one call at a time Docker\'s daemon-level IPv6 state', async (t) => {
  const ns = await createNetns(t, 'v6');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  const cleaned = dockerIptablesGoldens('ipv6').find((g) => g.name === 'cleaned,hairpin=true')!.text;
  await firewall.apply({ ...IPV6_HOST, networks: [] });
  t.is(withoutDockerUser(await savedTables(ns, 'ipv6')), cleaned);
  await addOneByOne(firewall, IPV6_HOST);
  t.is(await savedTables(ns, 'ipv6'), IPV6_HOST_SAVE);
  await removeOneByOne(firewall, IPV6_HOST);
  t.is(withoutDockerUser(await savedTables(ns, 'ipv6')), cleaned);
});

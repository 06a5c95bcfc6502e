/**
 * The Firewall API over the iptables backend: imperative calls in Docker's
 * firewaller shape end where the declarative apply does, a bulk call is one
 * commit per table, removal leaves the daemon-level state, and IPv6 and
 * several networks land in the kernel exactly as planned.
 */
import test from 'ava';
import { buildModel } from '../src/docker/model.js';
import { planIptables, renderIptablesSave } from '../src/docker/iptables/plan.js';
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/input/types.js';
import { parseSpec } from '../src/input/validate.js';
import { parseScenarioName, scenarioSpec } from './helpers/docker-scenario.js';
import { savedTables } from './helpers/iptables-flavour.js';
import { createNetns, kernelTest } from './helpers/netns.js';

const WEB = { bridge: 'br-web', icc: false, ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::/64' } };
const DB = { bridge: 'br-db', internal: true, ipv4: { subnet: '198.18.2.0/24' } };

kernelTest('imperative calls end in the same ruleset as one declarative apply', async (t) => {
  const [imperative, declarative] = await Promise.all([createNetns(t, 'fwimp'), createNetns(t, 'fwdecl')]);
  const steps = await Firewall.open({ netns: imperative.path });
  t.teardown(() => steps.close());
  await steps.apply({ backend: 'iptables', ipv6: true, userlandProxy: false });
  await steps.addNetwork(WEB);
  await steps.addNetwork(DB);
  await steps.addEndpoint('br-web', { ipv4: '198.18.1.2', ipv6: '2001:db8:1::2' });
  await steps.addPorts('br-web', { ipv4: '198.18.1.2' }, [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }]);
  await steps.addPorts('br-web', { ipv4: '198.18.1.2' }, [{ proto: 'udp', hostPort: '5000-5001', containerPort: '5000-5001' }]);
  await steps.addEndpoint('br-db', { ipv4: '198.18.2.2' });

  const once = await Firewall.open({ netns: declarative.path });
  t.teardown(() => once.close());
  await once.apply(steps.currentSpec()!);
  t.is(await savedTables(imperative), await savedTables(declarative));
  t.is(await savedTables(imperative, 'ipv6'), await savedTables(declarative, 'ipv6'));

  // Removing everything again leaves exactly the daemon-level state.
  await steps.removePorts('br-web', { ipv4: '198.18.1.2' }, [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }]);
  await steps.removeEndpoint('br-db', { ipv4: '198.18.2.2' });
  await steps.removeNetwork('br-db');
  await steps.removeNetwork('br-web');
  const daemonOnly = await createNetns(t, 'fwdaemon');
  const reference = await Firewall.open({ netns: daemonOnly.path });
  t.teardown(() => reference.close());
  await reference.apply({ backend: 'iptables', ipv6: true, userlandProxy: false });
  t.is(await savedTables(imperative), await savedTables(daemonOnly));
  t.is(await savedTables(imperative, 'ipv6'), await savedTables(daemonOnly, 'ipv6'));
});

kernelTest('replacing a network or endpoint, or publishing out of order, ends where a declarative apply puts the rules', async (t) => {
  const A = { bridge: 'br-a', ipv4: { subnet: '198.18.1.0/24' } };
  const B = { bridge: 'br-b', ipv4: { subnet: '198.18.2.0/24' } };
  const sequences: Record<string, (firewall: Firewall) => Promise<unknown>> = {
    'network replaced': async (firewall) => {
      await firewall.addNetwork(A);
      await firewall.addNetwork(B);
      await firewall.addNetwork({ ...A, icc: false, masquerade: false });
    },
    'endpoint replaced, ports published out of order': async (firewall) => {
      await firewall.addNetwork(A);
      await firewall.addNetwork(B);
      await firewall.addEndpoint('br-a', { ipv4: '198.18.1.2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] });
      await firewall.addEndpoint('br-a', { ipv4: '198.18.1.3' });
      await firewall.addPorts('br-a', { ipv4: '198.18.1.3' }, [{ proto: 'tcp', hostPort: 9000, containerPort: 90 }]);
      await firewall.addPorts('br-a', { ipv4: '198.18.1.3' }, [{ proto: 'udp', hostPort: 53, containerPort: 53 }]);
      await firewall.addEndpoint('br-a', { ipv4: '198.18.1.2', ports: [{ proto: 'udp', hostPort: 5353, containerPort: 5353 }] });
    },
  };
  for (const [name, steps] of Object.entries(sequences)) {
    const ns = await createNetns(t, 'fwreplace');
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    await firewall.apply({ backend: 'iptables', userlandProxy: false });
    await steps(firewall);
    t.deepEqual(firewall.currentSpec()!.networks!.map((network) => network.bridge), ['br-a', 'br-b'], `${name}: replaced in place`);
    const fresh = await Firewall.open({ netns: ns.path });
    t.teardown(() => fresh.close());
    t.like(await fresh.apply(firewall.currentSpec()!), { commits: 0, changes: 0 }, name);
  }
});

kernelTest('publishing 10,000 ports in one call is one commit per table', async (t) => {
  const ns = await createNetns(t, 'fwbulk');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply({ backend: 'iptables', networks: [{ bridge: 'br-bulk', ipv4: { subnet: '198.18.4.0/24' }, endpoints: [{ ipv4: '198.18.4.2' }] }] });
  const result = await firewall.addPorts('br-bulk', { ipv4: '198.18.4.2' }, [{ proto: 'tcp', hostPort: '20000-29999', containerPort: '20000-29999' }]);
  // filter (accept) and nat (DNAT); the raw table does not change.
  t.is(result.commits, 2);
  t.true(result.changes >= 20_000);
  const nat = await ns.run('iptables-legacy-save', '-t', 'nat');
  t.is(nat.split('\n').filter((line) => line.includes('-j DNAT')).length, 10_000);
});

kernelTest('IPv6 and several networks land in the kernel exactly as planned', async (t) => {
  const ns = await createNetns(t, 'fwv6');
  const spec: SpecInput = {
    backend: 'iptables', ipv4: true, ipv6: true, userlandProxy: false,
    networks: [
      { ...WEB, endpoints: [{ ipv4: '198.18.1.2', ipv6: '2001:db8:1::2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }, { proto: 'tcp', hostIp: '::1', hostPort: 9090, containerPort: 90 }] }] },
      { ...DB, endpoints: [{ ipv4: '198.18.2.2' }] },
      { bridge: 'br-routed', gatewayMode: 'routed', ipv4: { subnet: '198.18.3.0/24' }, ipv6: { subnet: '2001:db8:3::/64', hostIp: '2001:db8:ff::10' }, endpoints: [{ ipv4: '198.18.3.2', ipv6: '2001:db8:3::2', ports: [{ proto: 'udp', containerPort: 53 }] }] },
    ],
  };
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply(spec);
  const plan = planIptables(buildModel(parseSpec(spec)));
  t.is(await savedTables(ns), renderIptablesSave('ipv4', plan.families[0]));
  t.is(await savedTables(ns, 'ipv6'), renderIptablesSave('ipv6', plan.families[1]));
  t.like(await firewall.apply(spec), { commits: 0, changes: 0 });
});

kernelTest('the conformance scenario through the Firewall: apply, then removal back to the daemon state', async (t) => {
  const ns = await createNetns(t, 'fwconf');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  const spec = scenarioSpec(parseScenarioName('hairpin=true,internal=false,icc=false,masq=true,snat=true,gwm=nat,bindlh=true'), { ipv4: true, ipv6: true });
  await firewall.apply(spec);
  t.regex(await savedTables(ns), /-A DOCKER -d 127\.0\.0\.1\/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192\.168\.0\.2:80/);
  t.regex(await savedTables(ns, 'ipv6'), /-A DOCKER ! -s fe80::\/10 -d ::1\/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination \[fd49:efd7:54aa::1\]:80/);
  const flushed = await firewall.flush('iptables');
  t.true(flushed.changes > 0);
  t.notRegex(await savedTables(ns), /DOCKER/);
  t.notRegex(await savedTables(ns, 'ipv6'), /DOCKER/);
});

test('imperative calls before any apply say what to do', async (t) => {
  const firewall = await Firewall.open();
  const error = await t.throwsAsync(firewall.addNetwork(WEB));
  t.like(error, { name: 'ValidationError', field: 'spec' });
  firewall.close();
  firewall.close();
});

test('an invalid spec is refused before any kernel handle is opened', async (t) => {
  const firewall = await Firewall.open();
  const error = await t.throwsAsync(firewall.apply({ backend: 'iptables', networks: [{ bridge: 'bad name!', ipv4: { subnet: '198.18.0.0/24' } }] }));
  t.like(error, { name: 'ValidationError', field: 'networks[0].bridge' });
  firewall.close();
});

kernelTest('an unknown network or endpoint is a ValidationError naming it, and nothing changes', async (t) => {
  const ns = await createNetns(t, 'fwunknown');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply({ backend: 'iptables', networks: [WEB] });
  const before = await savedTables(ns);
  t.like(await t.throwsAsync(firewall.addEndpoint('br-nope', { ipv4: '198.18.9.2' })), { name: 'ValidationError', field: 'bridge' });
  t.like(await t.throwsAsync(firewall.addPorts('br-web', { ipv4: '198.18.1.9' }, [{ proto: 'tcp', hostPort: 1, containerPort: 1 }])), { name: 'ValidationError', field: 'endpoint' });
  t.like(await t.throwsAsync(firewall.addEndpoint('br-web', { ipv4: '198.18.2.9' })), { name: 'ValidationError', field: 'endpoint.ipv4' });
  t.is(await savedTables(ns), before);
});

kernelTest('concurrent calls share commits and each gets its own result or error (group commit)', async (t) => {
  const ns = await createNetns(t, 'group');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  const endpoint = { ipv4: '198.18.4.2' };
  await firewall.apply({ backend: 'nftables', userlandProxy: false, networks: [{ bridge: 'br-group', ipv4: { subnet: '198.18.4.0/24' }, endpoints: [endpoint] }] });
  const calls = [
    ...Array.from({ length: 200 }, (_, i) => firewall.addPorts('br-group', endpoint, [{ proto: 'tcp', hostPort: 10000 + i, containerPort: 80 + i }])),
    firewall.addPorts('br-group', endpoint, [{ proto: 'tcp', hostPort: 70000, containerPort: 80 }]),
    firewall.addPorts('br-nowhere', endpoint, [{ proto: 'tcp', hostPort: 9999, containerPort: 80 }]),
  ];
  const results = await Promise.allSettled(calls);
  const fulfilled = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  t.is(fulfilled.length, 200);
  t.true(fulfilled.some((r) => r.coalesced > 1), 'calls were merged into shared commits');
  t.regex(String((results[200] as PromiseRejectedResult).reason), /70000/);
  t.regex(String((results[201] as PromiseRejectedResult).reason), /br-nowhere/);
  const ports = firewall.currentSpec()!.networks![0]!.endpoints![0]!.ports!;
  t.is(ports.length, 200);
  const reference = await Firewall.open({ netns: ns.path });
  t.teardown(() => reference.close());
  t.like(await reference.apply(firewall.currentSpec()!), { commits: 0 }, 'the kernel holds exactly the merged spec');
});

/**
 * The iptables backend against the kernel, through the Firewall, for every
 * one of Docker's golden scenarios with both families enabled, saved by
 * iptables-legacy-save and ip6tables-legacy-save and compared with Docker's
 * own IPv4 and IPv6 expectations. First as Docker's TestIptabler makes it
 * (moby daemon/libnetwork/drivers/bridge/internal/iptabler/iptabler_test.go),
 * one call at a time: the daemon-level state is `cleaned`; the network, its
 * endpoint and its ports added give the golden (which one declarative apply
 * of the scenario then finds nothing to change in); removing the ports, the
 * endpoint and the network gives `cleaned` again. An internal golden does so
 * for every value of the options that cannot matter on an internal network.
 * Then declaratively: the scenario's spec applied gives the golden, applied
 * again changes nothing, and the daemon-level spec applied gives `cleaned`.
 */
import type { ExecutionContext } from 'ava';
import { Firewall } from '../src/firewall.js';
import type { NetworkSpecInput, PortInput, SpecInput } from '../src/spec/types.js';
import { dockerIptablesGoldens, withoutDockerUser } from './helpers/conformance.js';
import { daemonSpec, parseScenarioName, scenarioSpec, variants, type ScenarioOptions } from './helpers/docker-scenario.js';
import { savedTables } from './helpers/iptables-save.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const BOTH = { ipv4: true, ipv6: true };
const goldens = { ipv4: dockerIptablesGoldens('ipv4'), ipv6: dockerIptablesGoldens('ipv6') };
const golden = (family: 'ipv4' | 'ipv6', name: string): string => goldens[family].find((g) => g.name === name)!.text;

/** Both families' tables are Docker's golden `name`. */
async function expectGolden(t: ExecutionContext, ns: TestNetns, name: string, label: string): Promise<void> {
  for (const family of ['ipv4', 'ipv6'] as const) t.is(withoutDockerUser(await savedTables(ns, family)), golden(family, name), `${label} (${family})`);
}

/** A scenario's network without its endpoint, the endpoint without its ports, and the ports, for Docker's calls one at a time. */
function scenarioParts(options: ScenarioOptions): { network: NetworkSpecInput; endpoint: { ipv4: string; ipv6: string }; ports: PortInput[] } {
  const { endpoints, ...network } = scenarioSpec(options, BOTH).networks![0]!;
  const { ports, ...endpoint } = endpoints![0]!;
  return { network, endpoint: endpoint as { ipv4: string; ipv6: string }, ports: ports! };
}

for (const { name } of goldens.ipv4.filter((entry) => entry.name !== 'no' && !entry.name.startsWith('cleaned'))) {
  kernelTest(`iptables backend in the kernel: ${name}`, async (t) => {
    const ns = await createNetns(t, 'ipt');
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    const named = parseScenarioName(name);
    const cleaned = `cleaned,hairpin=${named.hairpin}`;
    await firewall.apply(daemonSpec(named));
    await expectGolden(t, ns, cleaned, 'daemon-level');

    for (const options of variants(name)) {
      const label = JSON.stringify(options);
      const { network, endpoint, ports } = scenarioParts(options);
      await firewall.addNetwork(network);
      await firewall.addEndpoint(network.bridge, endpoint);
      await firewall.addPorts(network.bridge, endpoint, ports);
      await expectGolden(t, ns, name, `${label}: added`);
      t.like(await firewall.apply(scenarioSpec(options, BOTH)), { commits: 0, changes: 0 }, `${label}: as applied`);
      await firewall.removePorts(network.bridge, endpoint, ports);
      await firewall.removeEndpoint(network.bridge, endpoint);
      await firewall.removeNetwork(network.bridge);
      await expectGolden(t, ns, cleaned, `${label}: removed`);
    }

    const spec: SpecInput = scenarioSpec(named, BOTH);
    await firewall.apply(spec);
    await expectGolden(t, ns, name, 'applied');
    t.like(await firewall.apply(spec), { commits: 0, changes: 0 }, 'applied again');
    await firewall.apply(daemonSpec(named));
    await expectGolden(t, ns, cleaned, 'daemon-level spec applied');
  });
}

kernelTest('iptables backend leaves rules that are not ours where they are', async (t) => {
  const ns = await createNetns(t, 'iptforeign');
  await ns.run('iptables-legacy', '-t', 'nat', '-A', 'POSTROUTING', '-s', '198.51.100.0/24', '-j', 'ACCEPT');
  await ns.run('iptables-legacy', '-A', 'FORWARD', '-i', 'eth9', '-j', 'DROP');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  const spec = scenarioSpec(parseScenarioName('hairpin=true,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=false'), { ipv4: true, ipv6: false });
  await firewall.apply(spec);
  const saved = await savedTables(ns);
  t.regex(saved, /-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n-A FORWARD -i eth9 -j DROP\n/);
  // Docker inserts the network's masquerade rules and appends the per-port hairpin one.
  t.regex(
    saved,
    /-A POSTROUTING -o br-dummy -m addrtype --src-type LOCAL -j MASQUERADE\n-A POSTROUTING -s 192\.168\.0\.0\/24 ! -o br-dummy -j MASQUERADE\n-A POSTROUTING -s 198\.51\.100\.0\/24 -j ACCEPT\n-A POSTROUTING -s 192\.168\.0\.2\/32 -d 192\.168\.0\.2\/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n/,
  );
  t.like(await firewall.apply(spec), { commits: 0, changes: 0 });
});

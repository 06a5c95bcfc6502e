/**
 * The iptables backends against the kernel, through the Firewall, for every
 * one of Docker's golden scenarios with both families enabled, saved by
 * ip(6)tables-legacy-save (backend iptables) or by the host's own
 * ip(6)tables-nft-save (backend iptables-nft) and compared with Docker's
 * own IPv4 and IPv6 expectations. First as Docker's TestIptabler makes it
 * (moby daemon/libnetwork/drivers/bridge/internal/iptabler/iptabler_test.go),
 * one call at a time: the daemon-level state is `cleaned`; the network, its
 * endpoint and its ports added give the golden (which one declarative apply
 * of the scenario then finds nothing to change in); removing the ports, the
 * endpoint and the network gives `cleaned` again. An internal golden does so
 * for every value of the options that cannot matter on an internal network.
 * Then declaratively: the scenario's spec applied gives the golden, applied
 * again changes nothing, and the daemon-level spec applied gives `cleaned`.
 * iptables-nft commits each change in one transaction and creates no legacy
 * table. Rules the host's tools wrote stay where they are.
 */
import type { ExecutionContext } from 'ava';
import { Firewall } from '../src/firewall.js';
import type { NetworkSpecInput, PortInput, SpecInput } from '../src/input/types.js';
import { dockerIptablesGoldens, withoutDockerUser } from './helpers/conformance.js';
import { daemonSpec, parseScenarioName, scenarioSpec, variants, type ScenarioOptions } from './helpers/docker-scenario.js';
import { savedTables, legacyTables } from './helpers/iptables-flavour.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const BOTH = { ipv4: true, ipv6: true };
const goldens = { ipv4: dockerIptablesGoldens('ipv4'), ipv6: dockerIptablesGoldens('ipv6') };
const golden = (family: 'ipv4' | 'ipv6', name: string): string => goldens[family].find((g) => g.name === name)!.text;

type Flavour = 'iptables' | 'iptables-nft';
const FLAVOURS: readonly Flavour[] = ['iptables', 'iptables-nft'];

/** Both families' tables are Docker's golden `name`. */
async function expectGolden(t: ExecutionContext, ns: TestNetns, flavour: Flavour, name: string, label: string): Promise<void> {
  for (const family of ['ipv4', 'ipv6'] as const) {
    t.is(withoutDockerUser(await savedTables(ns, family, flavour)), golden(family, name), `${label} (${family})`);
  }
}

/** The spec for the flavour's backend. */
function as(flavour: Flavour, spec: SpecInput): SpecInput {
  return { ...spec, backend: flavour };
}


/** A scenario's network without its endpoint, the endpoint without its ports, and the ports, for Docker's calls one at a time. */
function scenarioParts(options: ScenarioOptions): { network: NetworkSpecInput; endpoint: { ipv4: string; ipv6: string }; ports: PortInput[] } {
  const { endpoints, ...network } = scenarioSpec(options, BOTH).networks![0]!;
  const { ports, ...endpoint } = endpoints![0]!;
  return { network, endpoint: endpoint as { ipv4: string; ipv6: string }, ports: ports! };
}

for (const flavour of FLAVOURS) {
  for (const { name } of goldens.ipv4.filter((entry) => entry.name !== 'no' && !entry.name.startsWith('cleaned'))) {
    kernelTest(`${flavour} backend in the kernel: ${name}`, async (t) => {
      const ns = await createNetns(t, flavour === 'iptables' ? 'ipt' : 'iptnft');
      const firewall = await Firewall.open({ netns: ns.path });
      t.teardown(() => firewall.close());
      const named = parseScenarioName(name);
      const cleaned = `cleaned,hairpin=${named.hairpin}`;
      await firewall.apply(as(flavour, daemonSpec(named)));
      await expectGolden(t, ns, flavour, cleaned, 'daemon-level');

      for (const options of variants(name)) {
        const label = JSON.stringify(options);
        const { network, endpoint, ports } = scenarioParts(options);
        await firewall.addNetwork(network);
        await firewall.addEndpoint(network.bridge, endpoint);
        await firewall.addPorts(network.bridge, endpoint, ports);
        await expectGolden(t, ns, flavour, name, `${label}: added`);
        t.like(await firewall.apply(as(flavour, scenarioSpec(options, BOTH))), { commits: 0, changes: 0 }, `${label}: as applied`);
        await firewall.removePorts(network.bridge, endpoint, ports);
        await firewall.removeEndpoint(network.bridge, endpoint);
        await firewall.removeNetwork(network.bridge);
        await expectGolden(t, ns, flavour, cleaned, `${label}: removed`);
      }

      const spec: SpecInput = as(flavour, scenarioSpec(named, BOTH));
      const applied = await firewall.apply(spec);
      await expectGolden(t, ns, flavour, name, 'applied');
      t.like(await firewall.apply(spec), { commits: 0, changes: 0 }, 'applied again');
      await firewall.apply(as(flavour, daemonSpec(named)));
      await expectGolden(t, ns, flavour, cleaned, 'daemon-level spec applied');
      if (flavour === 'iptables-nft') {
        t.is(applied.commits, 1, 'every table of both families: one transaction');
        t.is(await legacyTables(ns), '', 'no legacy table created');
      }
    });
  }
}

const TOOL: Record<Flavour, string> = { iptables: 'iptables-legacy', 'iptables-nft': 'iptables-nft' };

for (const flavour of FLAVOURS) {
  kernelTest(`${flavour} backend leaves rules that are not ours where they are; the tool finds and deletes ours`, async (t) => {
    const ns = await createNetns(t, 'iptforeign');
    const tool = TOOL[flavour];
    await ns.run(tool, '-t', 'nat', '-A', 'POSTROUTING', '-s', '198.51.100.0/24', '-j', 'ACCEPT');
    await ns.run(tool, '-A', 'FORWARD', '-i', 'eth9', '-j', 'DROP');
    await ns.run(tool, '-N', 'DOCKER-USER');
    await ns.run(tool, '-A', 'DOCKER-USER', '-s', '192.0.2.0/24', '-j', 'DROP');
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    const spec = as(flavour, scenarioSpec(parseScenarioName('hairpin=true,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=false'), { ipv4: true, ipv6: false }));
    await firewall.apply(spec);
    const saved = await savedTables(ns, 'ipv4', flavour);
    t.regex(saved, /-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n-A FORWARD -i eth9 -j DROP\n/);
    t.regex(saved, /-A DOCKER-USER -s 192\.0\.2\.0\/24 -j DROP\n/, 'the user\'s rule stays');
    // Docker inserts the network's masquerade rules and appends the per-port hairpin one.
    t.regex(
      saved,
      /-A POSTROUTING -o br-dummy -m addrtype --src-type LOCAL -j MASQUERADE\n-A POSTROUTING -s 192\.168\.0\.0\/24 ! -o br-dummy -j MASQUERADE\n-A POSTROUTING -s 198\.51\.100\.0\/24 -j ACCEPT\n-A POSTROUTING -s 192\.168\.0\.2\/32 -d 192\.168\.0\.2\/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n/,
    );
    t.like(await firewall.apply(spec), { commits: 0, changes: 0 });
    // The host's tool finds one of our rules (-C) and deletes it (-D); the next apply puts it back where it was.
    const masquerade = ['POSTROUTING', '-s', '192.168.0.0/24', '!', '-o', 'br-dummy', '-j', 'MASQUERADE'];
    await ns.run(tool, '-t', 'nat', '-C', ...masquerade);
    await ns.run(tool, '-t', 'nat', '-D', ...masquerade);
    t.like(await firewall.apply(spec), { changes: 1 });
    t.is(await savedTables(ns, 'ipv4', flavour), saved);

    await firewall.flush(flavour);
    const flushed = await savedTables(ns, 'ipv4', flavour);
    t.regex(flushed, /-A POSTROUTING -s 198\.51\.100\.0\/24 -j ACCEPT\n/);
    t.regex(flushed, /-A FORWARD -i eth9 -j DROP\n/);
    t.regex(flushed, /-A DOCKER-USER -s 192\.0\.2\.0\/24 -j DROP\n/, 'the user\'s chain and rule stay');
    t.notRegex(flushed, /MASQUERADE|DOCKER-FORWARD/);
  });
}

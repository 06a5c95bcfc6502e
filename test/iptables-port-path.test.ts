/**
 * Port calls on the iptables backends take the port path
 * (src/backends/iptables/port-path.ts): while nothing else commits, no table
 * is read back and only the call's rules are planned, and the kernel ends as
 * the whole path leaves it, rule for rule and in the plan's order (a fresh
 * Firewall applying currentSpec() finds nothing to change). When someone else
 * committed in between, the call reads the tables back and leaves their rules.
 * Loopback-bound ports' drops (raw PREROUTING) are claimed in the owner
 * record as the whole path claims them, so a flush removes them too.
 */
import type { ExecutionContext } from 'ava';
import { Firewall } from '../src/firewall.js';
import type { PortSpecInput, SpecInput } from '../src/input/types.js';
import { IPTABLES_FLAVOURS, iptablesTool, savedTables, type IptablesFlavour } from './helpers/iptables-flavour.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';
import { tablesReadIn } from './helpers/table-reads.js';

function readsIn(ns: TestNetns): number {
  return tablesReadIn(ns.path).length;
}

// Network br-pa is dual-stack: its calls change both families' tables in one call.
const ENDPOINTS = {
  a1: { ipv4: '198.18.1.2', ipv6: '2001:db8:1::2' }, a2: { ipv4: '198.18.1.3', ipv6: '2001:db8:1::3' }, a3: { ipv4: '198.18.1.4', ipv6: '2001:db8:1::4' },
  b1: { ipv4: '198.18.2.2' }, b2: { ipv4: '198.18.2.3' },
} as const;
type EndpointName = keyof typeof ENDPOINTS;

function spec(backend: IptablesFlavour): SpecInput {
  const endpoint = (name: EndpointName, ports: PortSpecInput[]) => ({ ...ENDPOINTS[name], ports });
  return {
    backend, ipv6: true, userlandProxy: false,
    networks: [
      {
        bridge: 'br-pa', ipv4: { subnet: '198.18.1.0/24' }, ipv6: { subnet: '2001:db8:1::/64' },
        endpoints: [endpoint('a1', [port(80, 8080)]), endpoint('a2', [port(80, 8081), port(443, 8443)]), endpoint('a3', [])],
      },
      { bridge: 'br-pb', ipv4: { subnet: '198.18.2.0/24' }, endpoints: [endpoint('b1', [port(53, 5353, 'udp')]), endpoint('b2', [])] },
    ],
  };
}

function port(containerPort: number, hostPort: number, proto: 'tcp' | 'udp' = 'tcp', hostIp?: string): PortSpecInput {
  return { proto, containerPort, hostPort, ...(hostIp ? { hostIp } : {}) };
}

function bridgeOf(name: EndpointName): string {
  return name.startsWith('a') ? 'br-pa' : 'br-pb';
}

/** A fresh Firewall applying currentSpec() finds nothing to change: the rules and their order are the plan's. */
async function assertKernelIsCurrentSpec(t: ExecutionContext, ns: TestNetns, firewall: Firewall, when: string): Promise<void> {
  const reference = await Firewall.open({ netns: ns.path });
  t.like(await reference.apply(firewall.currentSpec()!), { changes: 0 }, `the kernel holds exactly currentSpec() ${when}`);
  await reference.close();
}

/** A small deterministic generator, so that a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

for (const flavour of IPTABLES_FLAVOURS) {
  kernelTest(`${flavour}: port calls on any endpoint read nothing back and leave the tables as the whole path would`, async (t) => {
    const ns = await createNetns(t, `pp${flavour.length}`);
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    await firewall.apply(spec(flavour));
    const next = random(7);
    const names = Object.keys(ENDPOINTS) as EndpointName[];
    const published = new Map<EndpointName, PortSpecInput[]>(names.map((name) => [name, []]));
    for (let call = 0; call < 40; call++) {
      const name = names[Math.floor(next() * names.length)]!;
      const mine = published.get(name)!;
      // Container ports repeat (a removal keeps what the others on the same port share); host ports are the endpoint's own.
      const base = 9000 + names.indexOf(name) * 100;
      const before = readsIn(ns);
      if (mine.length > 0 && next() < 0.4) {
        const gone = mine.splice(Math.floor(next() * mine.length), 1 + Math.floor(next() * Math.min(2, mine.length)));
        await firewall.removePorts(bridgeOf(name), ENDPOINTS[name], gone);
      } else {
        const fresh = Array.from({ length: 1 + Math.floor(next() * 3) }, () =>
          port(70 + Math.floor(next() * 8), base + Math.floor(next() * 99), next() < 0.3 ? 'udp' : 'tcp', next() < 0.25 ? '127.0.0.1' : undefined))
          .filter((p, i, all) => all.findIndex((q) => q.hostPort === p.hostPort && q.proto === p.proto) === i &&
            !mine.some((q) => q.hostPort === p.hostPort && q.proto === p.proto));
        if (fresh.length === 0) continue;
        await firewall.addPorts(bridgeOf(name), ENDPOINTS[name], fresh);
        mine.push(...fresh);
      }
      t.is(readsIn(ns), before, `call ${call} (${name}) read no table back`);
      if (call % 10 === 9) await assertKernelIsCurrentSpec(t, ns, firewall, `after call ${call}`);
    }
    await assertKernelIsCurrentSpec(t, ns, firewall, 'at the end');
    t.regex(await savedTables(ns, 'ipv4', flavour), /-A PREROUTING -d 127\.0\.0\.1\/32 ! -i lo -p (tcp|udp) -m \1 --dport \d+ -j DROP/,
      'loopback-bound ports were published');
    // What the port path published is recorded as ours: a flush leaves nothing of it.
    await firewall.flush(flavour);
    t.notRegex(await savedTables(ns, 'ipv4', flavour), /DNAT|-j DROP|MASQUERADE/);
  });

  kernelTest(`${flavour}: a port call after someone else committed reads the tables back and keeps their rules`, async (t) => {
    const ns = await createNetns(t, `pq${flavour.length}`);
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    await firewall.apply(spec(flavour));
    await firewall.addPorts('br-pa', ENDPOINTS.a3, [port(80, 7000)]);
    const tool = iptablesTool(flavour, 'ipv4');
    await ns.run(tool, '-t', 'nat', '-A', 'POSTROUTING', '-s', '203.0.113.0/24', '-j', 'MASQUERADE');
    await ns.run(tool, '-t', 'filter', '-I', 'DOCKER', '-s', '203.0.113.7', '-j', 'ACCEPT');
    const before = readsIn(ns);
    await firewall.addPorts('br-pa', ENDPOINTS.a1, [port(81, 7001)]);
    t.true(readsIn(ns) > before, 'the tables were read back');
    // Their rules now share the port chains: the calls that follow take the whole path, and keep them.
    await firewall.removePorts('br-pa', ENDPOINTS.a3, [port(80, 7000)]);
    await firewall.addPorts('br-pb', ENDPOINTS.b2, [port(82, 7002)]);
    const saved = await savedTables(ns, 'ipv4', flavour);
    t.regex(saved, /-A POSTROUTING -s 203\.0\.113\.0\/24 -j MASQUERADE/);
    t.regex(saved, /-A DOCKER -s 203\.0\.113\.7\/32 -j ACCEPT/);
    t.notRegex(saved, /--dport 7000 /);
    t.regex(saved, /--dport 7001 -j DNAT/);
    t.regex(saved, /--dport 7002 -j DNAT/);
  });
}

for (const flavour of IPTABLES_FLAVOURS) {
  kernelTest(`${flavour}: two writers: a host port the other writer took since is refused, and one it gave up since is free`, async (t) => {
    const ns = await createNetns(t, `pw${flavour.length}`);
    const [first, second] = [await Firewall.open({ netns: ns.path }), await Firewall.open({ netns: ns.path })];
    t.teardown(async () => {
      await first.close();
      await second.close();
    });
    await first.apply(spec(flavour));
    await second.apply(spec(flavour));
    // The second writer's last commit saw no 7100: the first one takes it after.
    await first.addPorts('br-pa', ENDPOINTS.a1, [port(80, 7100)]);
    const refused = await t.throwsAsync(second.addPorts('br-pb', ENDPOINTS.b1, [port(81, 7100)]));
    t.is((refused as { code?: string }).code, 'EADDRINUSE');
    // A call of its own: the second writer's tables as known now show the first one's 7100, which the first gives up.
    await second.addPorts('br-pb', ENDPOINTS.b2, [port(82, 7200)]);
    await first.removePorts('br-pa', ENDPOINTS.a1, [port(80, 7100)]);
    await second.addPorts('br-pb', ENDPOINTS.b1, [port(81, 7100)]);
    const saved = await savedTables(ns, 'ipv4', flavour);
    t.regex(saved, /--dport 7100 -j DNAT --to-destination 198\.18\.2\.2:81\n/);
    t.notRegex(saved, /--dport 7100 -j DNAT --to-destination 198\.18\.1\.2:80\n/);
  });
}

kernelTest('iptables: port calls next to foreign rules whose extensions keep kernel state read nothing back (the commit fingerprints the tables as the kernel now holds them)', async (t) => {
  const ns = await createNetns(t, 'pf');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply(spec('iptables'));
  // Outside the port chains, so the port path stays open; each extension's kernel half fills in state of its own.
  for (const rule of [
    ['-t', 'filter', '-A', 'INPUT', '-m', 'limit', '--limit', '5/min', '-j', 'LOG'],
    ['-t', 'filter', '-A', 'INPUT', '-m', 'hashlimit', '--hashlimit-name', 'pf', '--hashlimit-above', '10/sec', '-j', 'DROP'],
    ['-t', 'filter', '-A', 'INPUT', '-m', 'recent', '--name', 'pf', '--set'],
    ['-t', 'filter', '-A', 'INPUT', '-m', 'connlimit', '--connlimit-above', '10', '-j', 'DROP'],
    ['-t', 'filter', '-A', 'INPUT', '-m', 'quota', '--quota', '1000', '-j', 'ACCEPT'],
    ['-t', 'nat', '-I', 'PREROUTING', '-m', 'statistic', '--mode', 'nth', '--every', '3', '--packet', '0', '-j', 'RETURN'],
    ['-t', 'raw', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '21', '-j', 'CT', '--helper', 'ftp'],
  ]) await ns.run('iptables-legacy', '-w', ...rule);
  // The first call reads back (someone else committed since), each one after it none: a loopback-bound port changes raw too.
  await firewall.addPorts('br-pa', ENDPOINTS.a3, [port(80, 7300)]);
  const before = readsIn(ns);
  for (let pair = 0; pair < 3; pair++) {
    await firewall.addPorts('br-pa', ENDPOINTS.a1, [port(81, 7301, 'tcp', '127.0.0.1')]);
    await firewall.removePorts('br-pa', ENDPOINTS.a1, [port(81, 7301, 'tcp', '127.0.0.1')]);
  }
  t.is(readsIn(ns), before);
  await assertKernelIsCurrentSpec(t, ns, firewall, 'after the calls');
});

kernelTest('iptables: port calls one after another decide from what the calls before them committed, without reading back', async (t) => {
  const ns = await createNetns(t, 'ppseq');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  await firewall.apply(spec('iptables'));
  const before = readsIn(ns);
  // Two host ports to one container port, each published by a call of its own, then one removed: its forward
  // accept and masquerade stay for the other.
  await firewall.addPorts('br-pa', ENDPOINTS.a3, [port(90, 7300)]);
  await firewall.addPorts('br-pa', ENDPOINTS.a3, [port(90, 7301)]);
  await firewall.removePorts('br-pa', ENDPOINTS.a3, [port(90, 7300)]);
  // The host port given up is free for another container: the DNAT rule the removal deleted holds it no more.
  await firewall.addPorts('br-pa', ENDPOINTS.a2, [port(91, 7300)]);
  t.is(readsIn(ns), before, 'no table was read back');
  const saved = await savedTables(ns, 'ipv4', 'iptables');
  t.regex(saved, /--dport 7300 -j DNAT --to-destination 198\.18\.1\.3:91\n/);
  t.notRegex(saved, /--dport 7300 -j DNAT --to-destination 198\.18\.1\.4/);
  t.regex(saved, /--dport 7301 -j DNAT --to-destination 198\.18\.1\.4:90\n/);
  t.regex(saved, /-A DOCKER -d 198\.18\.1\.4\/32 ! -i br-pa -o br-pa -p tcp -m tcp --dport 90 -j ACCEPT\n/);
  t.regex(saved, /-A POSTROUTING -s 198\.18\.1\.4\/32 -d 198\.18\.1\.4\/32 -p tcp -m tcp --dport 90 -j MASQUERADE\n/);
  await assertKernelIsCurrentSpec(t, ns, firewall, 'at the end');
});

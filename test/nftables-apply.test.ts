/**
 * The nftables backend against the kernel: `nft list table` of the main
 * scenarios equals the project's goldens (test/golden/nftables, rewritten
 * with BRIDGEWALL_UPDATE_GOLDENS=1); a second apply, from a new process's
 * point of view, commits nothing; `--dry-run` text fed to `nft -f` builds the
 * same ruleset; the user's chain survives; publishing ports changes elements
 * only; switching backends leaves nothing of the other behind.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { Firewall } from '../src/firewall.js';
import type { PortSpecInput, SpecInput } from '../src/input/types.js';
import { repositoryRoot } from './helpers/conformance.js';
import { RICH_SPEC } from './helpers/rich-spec.js';
import type { ScenarioOptions } from './helpers/docker-scenario.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const GOLDEN_DIR = join(repositoryRoot(), 'test', 'golden', 'nftables');
const UPDATE = process.env.BRIDGEWALL_UPDATE_GOLDENS === '1';

type Scenario = ScenarioOptions;

/**
 * Docker's golden scenario (one network, one endpoint, tcp 8080->80) in
 * documentation ranges, with Docker's own bindings: one per family, 0.0.0.0
 * and ::, or 127.0.0.1 and ::1.
 */
function scenarioSpec(s: Scenario): SpecInput {
  const [ipv4HostIp, ipv6HostIp] = s.bindlh ? ['127.0.0.1', '::1'] : ['0.0.0.0', '::'];
  const ports: PortSpecInput[] = [
    { proto: 'tcp', hostIp: ipv4HostIp, hostPort: 8080, containerPort: 80 },
    { proto: 'tcp', hostIp: ipv6HostIp, hostPort: 8080, containerPort: 80 },
  ];
  return {
    backend: 'nftables', ipv4: true, ipv6: true, userlandProxy: !s.hairpin,
    networks: [{
      bridge: 'br-dummy', internal: s.internal, icc: s.icc, masquerade: s.masq, gatewayMode: s.gwm,
      ipv4: { subnet: '198.18.0.0/24', ...(s.snat ? { hostIp: '203.0.113.123' } : {}) },
      ipv6: { subnet: '2001:db8:54aa::/64', ...(s.snat ? { hostIp: '2001:db8:672f::123' } : {}) },
      endpoints: [{ ipv4: '198.18.0.2', ipv6: '2001:db8:54aa::2', ports }],
    }],
  };
}

const BASE: Scenario = { hairpin: false, internal: false, icc: true, masq: true, snat: false, gwm: 'nat', bindlh: false };
const SCENARIOS: Record<string, Scenario> = {
  'proxy,nat': BASE,
  'hairpin,nat': { ...BASE, hairpin: true },
  'proxy,nat,no-icc,snat,bind-loopback': { ...BASE, icc: false, snat: true, bindlh: true },
  'hairpin,nat-unprotected,no-masquerade': { ...BASE, hairpin: true, gwm: 'nat-unprotected', masq: false },
  'proxy,routed': { ...BASE, gwm: 'routed' },
  'proxy,internal,no-icc': { ...BASE, internal: true, icc: false },
};

const RICH: SpecInput = { ...RICH_SPEC, backend: 'nftables' };

async function openFirewall(t: ExecutionContext, ns: TestNetns): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

async function listTables(ns: TestNetns): Promise<string> {
  return (await ns.run('nft', 'list', 'table', 'ip', 'bridgewall')) + (await ns.run('nft', 'list', 'table', 'ip6', 'bridgewall'));
}

function expectGolden(t: ExecutionContext, name: string, actual: string): void {
  const file = join(GOLDEN_DIR, `${name}.nft`);
  if (UPDATE || !existsSync(file)) {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
    if (!UPDATE) t.fail(`golden ${file} was missing and has been written: review it`);
    return;
  }
  t.is(actual, readFileSync(file, 'utf8'), `golden ${name}`);
}

for (const [name, scenario] of Object.entries(SCENARIOS)) {
  kernelTest(`nftables backend golden: ${name}`, async (t) => {
    const ns = await createNetns(t, 'nftgold');
    const spec = scenarioSpec(scenario);
    const first = await openFirewall(t, ns);
    t.is((await first.apply(spec)).commits, 1);
    expectGolden(t, name, await listTables(ns));
    first.close();
    // A new Firewall knows nothing: it reads the tables back and finds nothing to do.
    const second = await openFirewall(t, ns);
    t.like(await second.apply(spec), { commits: 0, changes: 0 });
    await second.apply({ ...spec, networks: [] });
    expectGolden(t, `cleaned,${scenario.hairpin ? 'hairpin' : 'proxy'}`, await listTables(ns));
  });
}

kernelTest('nftables backend: the dry-run script, fed to nft -f, builds the same ruleset', async (t) => {
  const applied = await createNetns(t, 'nftdry');
  const scripted = await createNetns(t, 'nftdry');
  const byLibrary = await openFirewall(t, applied);
  const byScript = await openFirewall(t, scripted);
  const steps: SpecInput[] = [
    RICH,
    // An incremental change: a port more, a network less, the ingress gone.
    {
      ...RICH, ingress: undefined,
      networks: [{ ...RICH.networks![0]!, endpoints: [{ ...RICH.networks![0]!.endpoints![0]!, ports: [{ proto: 'tcp', hostPort: 8081, containerPort: 81 }] }] }, RICH.networks![2]!],
    },
    { ...RICH, networks: [] },
  ];
  for (const spec of steps) {
    const { text: script } = await byScript.dryRun(spec);
    await scripted.runWithInput('nft', ['-f', '-'], script);
    await byLibrary.apply(spec);
    t.is(await scripted.run('nft', 'list', 'ruleset'), await applied.run('nft', 'list', 'ruleset'));
    t.like(await byScript.apply(spec), { commits: 0, changes: 0 }, 'the library reads the script\'s ruleset as its own');
  }
});

kernelTest('nftables backend: the user chain is jumped to first and never flushed', async (t) => {
  const ns = await createNetns(t, 'nftuser');
  const firewall = await openFirewall(t, ns);
  await firewall.apply(RICH);
  await ns.run('nft', 'add', 'rule', 'ip', 'bridgewall', 'DOCKER-USER', 'ip', 'saddr', '192.0.2.0/24', 'drop');
  await firewall.apply({ ...RICH, networks: RICH.networks!.slice(1) });
  t.regex(await ns.run('nft', 'list', 'chain', 'ip', 'bridgewall', 'DOCKER-USER'), /ip saddr 192\.0\.2\.0\/24 drop/);
  t.like(await firewall.flush(), { commits: 1 });
  // The IPv4 table keeps the user's chain alone; the IPv6 one, whose user chain was empty, is gone.
  t.is(
    await ns.run('nft', 'list', 'ruleset'),
    'table ip bridgewall {\n\tchain DOCKER-USER {\n\t\tip saddr 192.0.2.0/24 drop\n\t}\n}\n',
  );
  await firewall.apply(RICH);
  t.regex(await ns.run('nft', 'list', 'chain', 'ip', 'bridgewall', 'DOCKER-USER'), /ip saddr 192\.0\.2\.0\/24 drop/);
});

kernelTest('nftables backend: publishing and unpublishing ports changes elements only, one commit', async (t) => {
  const ns = await createNetns(t, 'nftports');
  const firewall = await openFirewall(t, ns);
  const endpoint = { ipv4: '198.18.1.2' };
  const many: PortSpecInput = { proto: 'tcp', hostPort: '20000-20999', containerPort: '30000-30999' };
  await firewall.apply({ backend: 'nftables', networks: [{ bridge: 'br-alpha', ipv4: { subnet: '198.18.1.0/24' }, endpoints: [{ ...endpoint, ports: [many] }] }] });
  const rules = await ns.run('nft', '-a', 'list', 'chain', 'ip', 'bridgewall', 'nat-published');
  // A port is three elements: its DNAT, the proxy's exclusion from its own bridge, the forward accept.
  t.like(await firewall.addPorts('br-alpha', endpoint, [{ proto: 'udp', hostPort: 53, containerPort: 53 }]), { commits: 1, changes: 3 });
  t.like(await firewall.removePorts('br-alpha', endpoint, [many]), { commits: 1, changes: 3000 });
  t.is(await ns.run('nft', '-a', 'list', 'chain', 'ip', 'bridgewall', 'nat-published'), rules, 'no rule was rewritten');
  t.regex(await ns.run('nft', 'list', 'map', 'ip', 'bridgewall', 'dnat-any-address'), /elements = \{ udp \. 53 counter packets 0 bytes 0 : 198\.18\.1\.2 \. 53 \}/);
});

kernelTest('nftables backend: a change made behind its back is seen and repaired', async (t) => {
  const ns = await createNetns(t, 'nftrepair');
  const firewall = await openFirewall(t, ns);
  await firewall.apply(RICH);
  const before = await listTables(ns);
  await ns.run('nft', 'delete', 'element', 'ip', 'bridgewall', 'dnat-any-address', '{ tcp . 8080 }');
  await ns.run('nft', 'flush', 'chain', 'ip', 'bridgewall', 'forward');
  t.like(await firewall.apply(RICH), { commits: 1, changes: 1 + 7 });
  t.is(await listTables(ns), before);
});

kernelTest('switching backends with apply leaves no rules of the other behind', async (t) => {
  const ns = await createNetns(t, 'nftswitch');
  const firewall = await openFirewall(t, ns);
  const spec = scenarioSpec({ ...BASE, hairpin: true });
  const emptyIptables = async () => {
    for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save']) {
      t.notRegex(await ns.run(tool), /^-A /m, `${tool} lists rules`);
      t.notRegex(await ns.run(tool), /DOCKER/, `${tool} lists Docker's chains`);
    }
  };
  await firewall.apply({ ...spec, backend: 'iptables' });
  t.regex(await ns.run('iptables-legacy-save'), /DOCKER-FORWARD/);
  const toNft = await firewall.apply(spec);
  t.true(toNft.otherBackendChanges > 0);
  await emptyIptables();
  t.regex(await ns.run('nft', 'list', 'ruleset'), /table ip bridgewall/);
  await firewall.apply({ ...spec, backend: 'iptables' });
  t.is(await ns.run('nft', 'list', 'ruleset'), '');
  await firewall.apply(spec);
  await emptyIptables();
});

kernelTest('nftables backend: imperative calls of two Firewalls on one namespace add up', async (t) => {
  const ns = await createNetns(t, 'nftaddup');
  const first = await openFirewall(t, ns);
  const second = await openFirewall(t, ns);
  const network = { bridge: 'br-alpha', ipv4: { subnet: '198.18.1.0/24' }, endpoints: [{ ipv4: '198.18.1.2' }, { ipv4: '198.18.1.3' }] };
  const base: SpecInput = { backend: 'nftables', userlandProxy: false, networks: [network] };
  await first.apply(base);
  await second.apply(base);
  await first.addPorts('br-alpha', { ipv4: '198.18.1.2' }, [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }]);
  await second.addPorts('br-alpha', { ipv4: '198.18.1.3' }, [{ proto: 'tcp', hostPort: 8081, containerPort: 80 }]);
  const both = await openFirewall(t, ns);
  t.like(await both.apply({ ...base, networks: [{ ...network, endpoints: [
    { ipv4: '198.18.1.2', ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }] },
    { ipv4: '198.18.1.3', ports: [{ proto: 'tcp', hostPort: 8081, containerPort: 80 }] },
  ] }] }), { commits: 0 }, 'the two changes together are the declarative state');
  await first.removePorts('br-alpha', { ipv4: '198.18.1.2' }, [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }]);
  const left = await ns.run('nft', 'list', 'map', 'ip', 'bridgewall', 'dnat-any-address');
  t.regex(left, /tcp \. 8081 counter packets 0 bytes 0 : 198\.18\.1\.3 \. 80/);
  t.notRegex(left, /8080/);
});

/** What nft lists, without the counters of sets and elements (which the range tests do not look at). */
async function withoutCounters(ns: TestNetns, ...command: string[]): Promise<string> {
  return (await ns.run(...(command as [string, ...string[]]))).replace(/ counter packets \d+ bytes \d+/g, '').replace(/\n\s*counter\n/g, '\n');
}

kernelTest('nftables backend: an identity range is one element per set, a range with an offset one per port', async (t) => {
  const ns = await createNetns(t, 'nftrange');
  const firewall = await openFirewall(t, ns);
  const endpoint = { ipv4: '198.18.1.2' };
  await firewall.apply({ backend: 'nftables', networks: [{ bridge: 'br-alpha', ipv4: { subnet: '198.18.1.0/24' }, endpoints: [endpoint] }] });
  const identity: PortSpecInput = { proto: 'tcp', hostPort: '10000-19999', containerPort: '10000-19999' };
  // Its DNAT, the proxy's exclusion from its own bridge, the forward accept: one element each, whatever its length.
  t.like(await firewall.addPorts('br-alpha', endpoint, [identity]), { commits: 1, changes: 3 });
  t.like(await firewall.addPorts('br-alpha', endpoint, [{ proto: 'tcp', hostPort: '20000-20009', containerPort: '30000-30009' }]), { commits: 1, changes: 30 });
  t.regex(await withoutCounters(ns, 'nft', 'list', 'map', 'ip', 'bridgewall', 'dnat-any-address-ranges'),
    /flags interval\n\s*elements = \{ tcp \. 10000-19999 : 198\.18\.1\.2 \}/);
  t.regex(await withoutCounters(ns, 'nft', 'list', 'set', 'ip', 'bridgewall', 'forward-ports-ranges'), /elements = \{ 198\.18\.1\.2 \. tcp \. 10000-19999 \}/);
  // A port cut out of it: the element goes, the two ranges left are one element each.
  t.like(await firewall.removePorts('br-alpha', endpoint, [{ proto: 'tcp', hostPort: 15000, containerPort: 15000 }]), { commits: 1, changes: 3 + 6 });
  t.regex(await withoutCounters(ns, 'nft', 'list', 'map', 'ip', 'bridgewall', 'dnat-any-address-ranges'),
    /tcp \. 10000-14999 : 198\.18\.1\.2,\s+tcp \. 15001-19999 : 198\.18\.1\.2/);
  const fresh = await openFirewall(t, ns);
  t.like(await fresh.apply(firewall.currentSpec()!), { changes: 0 }, 'a fresh read of the ranges is the plan');
  // A single port to a container port inside the range: its elements are its own (hash sets), beside the range's (interval sets).
  await firewall.addPorts('br-alpha', endpoint, [{ proto: 'tcp', hostPort: 9000, containerPort: 12000 }]);
  await firewall.removePorts('br-alpha', endpoint, [{ proto: 'tcp', hostPort: '10000-14999', containerPort: '10000-14999' }]);
  t.regex(await withoutCounters(ns, 'nft', 'list', 'set', 'ip', 'bridgewall', 'forward-ports'), /198\.18\.1\.2 \. tcp \. 12000/, 'the single port keeps its forward accept');
  t.like(await fresh.apply(firewall.currentSpec()!), { changes: 0 }, 'and the kernel is the spec');
});

kernelTest('nftables backend: identity ranges of one container that overlap on two host addresses share the pieces of their container ports', async (t) => {
  const ns = await createNetns(t, 'nftrangeov');
  const firewall = await openFirewall(t, ns);
  const endpoint = { ipv4: '198.18.1.2' };
  await firewall.apply({ backend: 'nftables', networks: [{ bridge: 'br-alpha', ipv4: { subnet: '198.18.1.0/24' }, endpoints: [endpoint] }] });
  const on = (hostIp: string, first: number, last: number): PortSpecInput =>
    ({ proto: 'tcp', hostIp, hostPort: `${first}-${last}`, containerPort: `${first}-${last}` });
  const forwarded = async () => /elements = \{ ([^}]*) \}/.exec(await withoutCounters(ns, 'nft', 'list', 'set', 'ip', 'bridgewall', 'forward-ports-ranges'))?.[1]
    ?.split(/,\s*/).map((element) => element.replace('198.18.1.2 . tcp . ', '')).sort((a, b) => parseInt(a) - parseInt(b));
  const fresh = await openFirewall(t, ns);
  const readBackIsPlan = async (what: string) => t.like(await fresh.apply(firewall.currentSpec()!), { changes: 0 }, what);
  await firewall.addPorts('br-alpha', endpoint, [on('198.51.100.1', 10000, 10010)]);
  // An interval set holds no two elements that overlap (the kernel refuses the second, EEXIST): the forward accepts are cut where they overlap.
  await firewall.addPorts('br-alpha', endpoint, [on('198.51.100.2', 10005, 10020)]);
  t.deepEqual(await forwarded(), ['10000-10004', '10005-10010', '10011-10020']);
  await readBackIsPlan('two overlapping');
  await firewall.addPorts('br-alpha', endpoint, [on('198.51.100.3', 10007, 10008)]);
  t.deepEqual(await forwarded(), ['10000-10004', '10005-10006', '10007-10008', '10009-10010', '10011-10020']);
  await firewall.removePorts('br-alpha', endpoint, [on('198.51.100.1', 10000, 10010), on('198.51.100.3', 10007, 10008)]);
  t.deepEqual(await forwarded(), ['10005-10020'], 'the range left is one element again');
  await readBackIsPlan('one left');
  t.regex(await withoutCounters(ns, 'nft', 'list', 'map', 'ip', 'bridgewall', 'dnat-by-address-ranges'), /elements = \{ 198\.51\.100\.2 \. tcp \. 10005-10020 : 198\.18\.1\.2 \}/);
});

kernelTest('nftables backend: a host port in another writer\'s identity range, or a range over its port, is refused with EADDRINUSE', async (t) => {
  const ns = await createNetns(t, 'nftrangew');
  const first = await openFirewall(t, ns);
  const second = await openFirewall(t, ns);
  const network = { bridge: 'br-alpha', ipv4: { subnet: '198.18.1.0/24' }, endpoints: [{ ipv4: '198.18.1.2' }, { ipv4: '198.18.1.3' }] };
  const base: SpecInput = { backend: 'nftables', networks: [network] };
  await first.apply(base);
  await second.apply(base);
  const identity = (first: number, last: number, hostIp?: string): PortSpecInput =>
    ({ proto: 'tcp', ...(hostIp ? { hostIp } : {}), hostPort: `${first}-${last}`, containerPort: `${first}-${last}` });
  await first.addPorts('br-alpha', { ipv4: '198.18.1.2' }, [identity(10000, 10999), { proto: 'tcp', hostPort: 8080, containerPort: 80 }]);
  const before = await withoutCounters(ns, 'nft', 'list', 'ruleset');
  await t.throwsAsync(second.addPorts('br-alpha', { ipv4: '198.18.1.3' }, [{ proto: 'tcp', hostIp: '198.51.100.1', hostPort: 10500, containerPort: 80 }]),
    { code: 'EADDRINUSE', message: /tcp port 10500 on every address \(ipv4\) is held by 198\.18\.1\.2:10500/ });
  await t.throwsAsync(second.addPorts('br-alpha', { ipv4: '198.18.1.3' }, [identity(8000, 8100)]),
    { code: 'EADDRINUSE', message: /tcp port 8080 on every address \(ipv4\) is held by 198\.18\.1\.2:80/ });
  await t.throwsAsync(second.addPorts('br-alpha', { ipv4: '198.18.1.3' }, [identity(10990, 11010, '198.51.100.1')]), { code: 'EADDRINUSE' });
  t.is(await withoutCounters(ns, 'nft', 'list', 'ruleset'), before, 'nothing committed');
  // The identical mapping is shared, as a single port's is.
  await second.addPorts('br-alpha', { ipv4: '198.18.1.2' }, [identity(10000, 10999)]);
  t.is(await withoutCounters(ns, 'nft', 'list', 'ruleset'), before);
});

/**
 * The iptables-nft backend against the kernel, through the Firewall: for
 * every one of Docker's golden scenarios, with both families enabled, the
 * rules it commits into nf_tables, saved by the host's own iptables-nft-save
 * and ip6tables-nft-save, equal Docker's IPv4 and IPv6 expectations; applying
 * again commits nothing; removing the network leaves exactly the
 * daemon-level state; no legacy table is ever created. Rules the host's
 * `iptables` (nf_tables flavour) writes stay where they are.
 */
import type { ExecutionContext } from 'ava';
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/spec/types.js';
import { dockerIptablesGoldens, withoutDockerUser } from './helpers/conformance.js';
import { parseScenarioName, scenarioSpec } from './helpers/docker-scenario.js';
import { createNetns, kernelTest, normaliseSave, type TestNetns } from './helpers/netns.js';

const goldens = dockerIptablesGoldens().filter((golden) => golden.name !== 'no' && !golden.name.startsWith('cleaned'));
const golden = (name: string) => dockerIptablesGoldens().find((g) => g.name === name)!.text;
const ipv6Goldens = dockerIptablesGoldens('ipv6');
const ipv6Golden = (name: string) => ipv6Goldens.find((g) => g.name === name)!.text;

async function save(ns: TestNetns, tool = 'iptables-nft-save'): Promise<string> {
  const parts = [];
  for (const table of ['raw', 'filter', 'nat']) parts.push(normaliseSave(await ns.run(tool, '-t', table)));
  return parts.join('');
}

/** The legacy tables the namespace holds: iptables-nft must create none. */
async function legacyTables(ns: TestNetns): Promise<string> {
  return (await ns.run('cat', '/proc/net/ip_tables_names', '/proc/net/ip6_tables_names')).trim();
}

const asIptablesNft = (spec: SpecInput): SpecInput => ({ ...spec, backend: 'iptables-nft' });

async function open(ns: TestNetns, t: ExecutionContext): Promise<Firewall> {
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  return firewall;
}

for (const { name, text } of goldens) {
  kernelTest(`iptables-nft backend in the kernel: ${name}`, async (t) => {
    const ns = await createNetns(t, 'iptnft');
    const firewall = await open(ns, t);
    const options = parseScenarioName(name);
    const spec = asIptablesNft(scenarioSpec(options, { ipv4: true, ipv6: true }));

    const applied = await firewall.apply(spec);
    t.is(applied.commits, 1, 'both families, every table: one transaction');
    t.is(withoutDockerUser(await save(ns)), text);
    t.is(withoutDockerUser(await save(ns, 'ip6tables-nft-save')), ipv6Golden(name));
    t.like(await firewall.apply(spec), { commits: 0, changes: 0 }, 'a second apply changes nothing');

    await firewall.apply({ backend: 'iptables-nft', ipv6: true, userlandProxy: !options.hairpin });
    t.is(withoutDockerUser(await save(ns)), golden(`cleaned,hairpin=${options.hairpin}`));
    t.is(withoutDockerUser(await save(ns, 'ip6tables-nft-save')), ipv6Golden(`cleaned,hairpin=${options.hairpin}`));
    t.is(await legacyTables(ns), '', 'no legacy table created');
  });
}

kernelTest('iptables-nft backend leaves rules the host\'s iptables wrote where they are, and the tool sees ours as its own', async (t) => {
  const ns = await createNetns(t, 'iptnftforeign');
  await ns.run('iptables-nft', '-t', 'nat', '-A', 'POSTROUTING', '-s', '198.51.100.0/24', '-j', 'ACCEPT');
  await ns.run('iptables-nft', '-A', 'FORWARD', '-i', 'eth9', '-j', 'DROP');
  await ns.run('iptables-nft', '-N', 'DOCKER-USER');
  await ns.run('iptables-nft', '-A', 'DOCKER-USER', '-s', '192.0.2.0/24', '-j', 'DROP');
  const firewall = await open(ns, t);
  const spec = asIptablesNft(scenarioSpec(parseScenarioName('hairpin=true,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=false'), { ipv4: true, ipv6: false }));
  await firewall.apply(spec);
  const saved = await save(ns);
  t.regex(saved, /-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n-A FORWARD -i eth9 -j DROP\n/);
  t.regex(saved, /-A DOCKER-USER -s 192\.0\.2\.0\/24 -j DROP\n/);
  // Docker inserts the network's masquerade rules and appends the per-port hairpin one.
  t.regex(
    saved,
    /-A POSTROUTING -o br-dummy -m addrtype --src-type LOCAL -j MASQUERADE\n-A POSTROUTING -s 192\.168\.0\.0\/24 ! -o br-dummy -j MASQUERADE\n-A POSTROUTING -s 198\.51\.100\.0\/24 -j ACCEPT\n-A POSTROUTING -s 192\.168\.0\.2\/32 -d 192\.168\.0\.2\/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n/,
  );
  t.like(await firewall.apply(spec), { commits: 0 });
  // The host's tool finds our rules (-C) and deletes one (-D); the next apply puts it back.
  await ns.run('iptables-nft', '-t', 'nat', '-C', 'POSTROUTING', '-s', '192.168.0.0/24', '!', '-o', 'br-dummy', '-j', 'MASQUERADE');
  await ns.run('iptables-nft', '-t', 'nat', '-D', 'POSTROUTING', '-s', '192.168.0.0/24', '!', '-o', 'br-dummy', '-j', 'MASQUERADE');
  t.like(await firewall.apply(spec), { commits: 1, changes: 1 });
  t.is(await save(ns), saved);

  await firewall.flush('iptables-nft');
  const flushed = await save(ns);
  t.regex(flushed, /-A POSTROUTING -s 198\.51\.100\.0\/24 -j ACCEPT\n/);
  t.regex(flushed, /-A FORWARD -i eth9 -j DROP\n/);
  t.regex(flushed, /-A DOCKER-USER -s 192\.0\.2\.0\/24 -j DROP\n/, 'the user\'s chain and rule stay');
  t.notRegex(flushed, /MASQUERADE|DOCKER-FORWARD/);
});

/**
 * The iptables backend against the kernel: for every one of Docker's golden
 * scenarios, with both families enabled, the library's rules saved by
 * iptables-legacy-save and ip6tables-legacy-save equal Docker's own IPv4 and
 * IPv6 expectations; applying again changes nothing; and removing the
 * network leaves exactly the daemon-level state in both.
 */
import { applyPlan } from '../src/backends/iptables/apply.js';
import { buildModel } from '../src/docker/model.js';
import { planIptables } from '../src/docker/iptables/plan.js';
import { IptcTable } from '../src/iptc/table.js';
import { parseSpec } from '../src/input/validate.js';
import type { SpecInput } from '../src/input/types.js';
import { dockerIptablesGoldens, withoutDockerUser } from './helpers/conformance.js';
import { parseScenarioName, scenarioSpec } from './helpers/docker-scenario.js';
import { createNetns, kernelTest, normaliseSave, type TestNetns } from './helpers/netns.js';

const goldens = dockerIptablesGoldens().filter((golden) => golden.name !== 'no' && !golden.name.startsWith('cleaned'));
const ipv6Goldens = dockerIptablesGoldens('ipv6');
const golden = (name: string) => dockerIptablesGoldens().find((g) => g.name === name)!.text;
const ipv6Golden = (name: string) => ipv6Goldens.find((g) => g.name === name)!.text;

async function save(ns: TestNetns, tool = 'iptables-legacy-save'): Promise<string> {
  const parts = [];
  for (const table of ['raw', 'filter', 'nat']) parts.push(normaliseSave(await ns.run(tool, '-t', table)));
  return parts.join('');
}

const plan = (spec: SpecInput) => planIptables(buildModel(parseSpec(spec)));

for (const { name, text } of goldens) {
  kernelTest(`iptables backend in the kernel: ${name}`, async (t) => {
    const ns = await createNetns(t, 'ipt');
    const tables = await IptcTable.open({ netns: ns.path });
    t.teardown(() => tables.close());
    const options = parseScenarioName(name);
    const spec = scenarioSpec(options, { ipv4: true, ipv6: true });

    await applyPlan(tables, plan(spec));
    t.is(withoutDockerUser(await save(ns)), text);
    t.is(withoutDockerUser(await save(ns, 'ip6tables-legacy-save')), ipv6Golden(name));
    t.deepEqual(await applyPlan(tables, plan(spec)), [], 'a second apply changes nothing');

    await applyPlan(tables, plan({ backend: 'iptables', ipv6: true, userlandProxy: !options.hairpin }));
    t.is(withoutDockerUser(await save(ns)), golden(`cleaned,hairpin=${options.hairpin}`));
    t.is(withoutDockerUser(await save(ns, 'ip6tables-legacy-save')), ipv6Golden(`cleaned,hairpin=${options.hairpin}`));
  });
}

kernelTest('iptables backend leaves rules that are not ours where they are', async (t) => {
  const ns = await createNetns(t, 'iptforeign');
  await ns.run('iptables-legacy', '-t', 'nat', '-A', 'POSTROUTING', '-s', '198.51.100.0/24', '-j', 'ACCEPT');
  await ns.run('iptables-legacy', '-A', 'FORWARD', '-i', 'eth9', '-j', 'DROP');
  const tables = await IptcTable.open({ netns: ns.path });
  t.teardown(() => tables.close());
  const spec = scenarioSpec(parseScenarioName('hairpin=true,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=false'), { ipv4: true, ipv6: false });
  await applyPlan(tables, plan(spec));
  const saved = await save(ns);
  t.regex(saved, /-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n-A FORWARD -i eth9 -j DROP\n/);
  // Docker inserts the network's masquerade rules and appends the per-port hairpin one.
  t.regex(
    saved,
    /-A POSTROUTING -o br-dummy -m addrtype --src-type LOCAL -j MASQUERADE\n-A POSTROUTING -s 192\.168\.0\.0\/24 ! -o br-dummy -j MASQUERADE\n-A POSTROUTING -s 198\.51\.100\.0\/24 -j ACCEPT\n-A POSTROUTING -s 192\.168\.0\.2\/32 -d 192\.168\.0\.2\/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n/,
  );
  t.deepEqual(await applyPlan(tables, plan(spec)), []);
});

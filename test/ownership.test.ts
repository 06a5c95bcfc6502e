/**
 * A co-resident manager's rules (a Docker daemon's own, for its docker0,
 * written by iptables-legacy-restore or iptables-nft-restore) survive every
 * apply, flush and backend switch of every backend; where bridgewall's plan
 * would have to change them it refuses with ECONFLICT and changes nothing,
 * unless told to adopt them.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendName } from '../src/backends/backend.js';
import { buildModel } from '../src/docker/model.js';
import { planIptables, renderIptablesSave } from '../src/docker/iptables/plan.js';
import { NetfilterError } from '../src/errors.js';
import { Firewall } from '../src/firewall.js';
import type { SpecInput } from '../src/spec/types.js';
import { parseSpec } from '../src/spec/validate.js';
import { createNetns, kernelTest, normaliseSave, type TestNetns } from './helpers/netns.js';

type Flavour = 'legacy' | 'nft';

/** A Docker daemon's docker0 with a published port, one bound to loopback, and hairpin off (its default userland proxy). */
const DOCKER: SpecInput = {
  backend: 'iptables',
  networks: [{
    bridge: 'docker0', ipv4: { subnet: '198.18.0.0/24' },
    endpoints: [{
      ipv4: '198.18.0.2',
      ports: [{ proto: 'tcp', hostPort: 8080, containerPort: 80 }, { proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8081, containerPort: 81 }],
    }],
  }],
};

const OURS = (backend: BackendName, extra: Partial<SpecInput> = {}): SpecInput => ({
  backend,
  networks: [{
    bridge: 'br-own', ipv4: { subnet: '198.18.1.0/24' },
    endpoints: [{ ipv4: '198.18.1.2', ports: [{ proto: 'tcp', hostPort: 9090, containerPort: 90 }] }],
  }],
  ...extra,
});

/** The Docker daemon's rules as iptables-save prints them, from the planner itself. */
function dockerRules(): string {
  const plan = planIptables(buildModel(parseSpec(DOCKER)));
  return renderIptablesSave('ipv4', plan.families.find((family) => family.family === 'ipv4'));
}

async function writeDockerRules(t: { teardown(fn: () => void): void }, ns: TestNetns, flavour: Flavour): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bw-docker-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rules');
  writeFileSync(file, dockerRules());
  await ns.run(`iptables-${flavour}-restore`, file);
}

/** The -A lines of a save: the rules, whatever order the chains are declared in. */
function ruleLines(save: string): string[] {
  return save.split('\n').filter((line) => line.startsWith('-A '));
}

async function saveOf(ns: TestNetns, flavour: Flavour): Promise<string> {
  let text = '';
  for (const table of ['raw', 'filter', 'nat']) text += normaliseSave(await ns.run(`iptables-${flavour}-save`, '-t', table));
  return text;
}

function assertForeignRulesKept(t: import('ava').ExecutionContext, save: string, step: string): void {
  const lines = new Set(ruleLines(save));
  for (const rule of ruleLines(dockerRules())) t.true(lines.has(rule), `${step}: Docker's rule is gone: ${rule}`);
}

for (const flavour of ['legacy', 'nft'] as const) {
  kernelTest(`a Docker daemon's rules written by iptables-${flavour}-restore survive every apply, flush and backend switch`, async (t) => {
    const ns = await createNetns(t, `own${flavour}`);
    await writeDockerRules(t, ns, flavour);
    assertForeignRulesKept(t, await saveOf(ns, flavour), 'written');
    const firewall = await Firewall.open({ netns: ns.path });
    t.teardown(() => firewall.close());
    const steps: [string, () => Promise<unknown>][] = [
      ['iptables apply', () => firewall.apply(OURS('iptables'))],
      ['nftables apply (switch)', () => firewall.apply(OURS('nftables'))],
      ['iptables apply (switch back)', () => firewall.apply(OURS('iptables'))],
      ['iptables network removed', () => firewall.removeNetwork('br-own')],
      ['iptables flush', () => firewall.flush('iptables')],
      ['nftables apply', () => firewall.apply(OURS('nftables'))],
      ['nftables flush', () => firewall.flush('nftables')],
      ['iptables flush again', () => firewall.flush('iptables')],
    ];
    for (const [step, run] of steps) {
      await run();
      assertForeignRulesKept(t, await saveOf(ns, flavour), step);
    }
    // And ours are gone: nothing names our bridge any more.
    t.false((await saveOf(ns, 'legacy')).includes('br-own'));
    t.false((await ns.run('nft', 'list', 'ruleset')).includes('br-own'));
  });
}

kernelTest('a new process removes the networks bridgewall programmed before it, and only those', async (t) => {
  const ns = await createNetns(t, 'ownrestart');
  await writeDockerRules(t, ns, 'legacy');
  const first = await Firewall.open({ netns: ns.path });
  await first.apply(OURS('iptables'));
  first.close();
  const second = await Firewall.open({ netns: ns.path });
  t.teardown(() => second.close());
  await second.apply({ backend: 'iptables', networks: [{ bridge: 'br-next', ipv4: { subnet: '198.18.2.0/24' } }] });
  const save = await saveOf(ns, 'legacy');
  t.false(save.includes('br-own'));
  t.true(save.includes('br-next'));
  assertForeignRulesKept(t, save, 'second process');
  await second.flush('iptables');
  assertForeignRulesKept(t, await saveOf(ns, 'legacy'), 'flush');
  t.false((await saveOf(ns, 'legacy')).includes('br-next'));
});

kernelTest('daemon-level settings that differ from the Docker daemon\'s are refused with ECONFLICT, changing nothing; adopt takes them over', async (t) => {
  const ns = await createNetns(t, 'ownconflict');
  await writeDockerRules(t, ns, 'legacy');
  const before = await saveOf(ns, 'legacy');
  const firewall = await Firewall.open({ netns: ns.path });
  t.teardown(() => firewall.close());
  // Docker's userland proxy is on; bridgewall's hairpin mode changes the nat OUTPUT jump.
  const error = await t.throwsAsync(firewall.apply(OURS('iptables', { userlandProxy: false })), { instanceOf: NetfilterError });
  t.is(error?.code, 'ECONFLICT');
  t.regex(error!.message, /OUTPUT/);
  t.is(await saveOf(ns, 'legacy'), before);
  // A network of the same bridge as the daemon's is another conflict.
  const same = await t.throwsAsync(firewall.apply({ backend: 'iptables', networks: [{ bridge: 'docker0', ipv4: { subnet: '198.18.0.0/24' } }] }), { instanceOf: NetfilterError });
  t.is(same?.code, 'ECONFLICT');
  t.regex(same!.message, /docker0/);
  t.is(await saveOf(ns, 'legacy'), before);

  // adopt: the spec's daemon-level settings replace the daemon's, and everything Docker-shaped is ours.
  await firewall.apply(OURS('iptables', { userlandProxy: false, adopt: true }));
  const adopted = await saveOf(ns, 'legacy');
  t.true(adopted.includes('-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER'));
  t.false(adopted.includes('127.0.0.0/8'));
  t.false(adopted.includes('docker0'));
  await firewall.flush('iptables');
  t.deepEqual(ruleLines(await saveOf(ns, 'legacy')), []);
});

test('ECONFLICT has a hint', async (t) => {
  const { HINTS } = await import('../src/cli/help.js');
  t.truthy((HINTS as Record<string, string>)['ECONFLICT']);
});

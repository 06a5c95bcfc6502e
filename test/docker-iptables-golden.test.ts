/**
 * Docker Engine v29's own expected rulesets (TestIptabler), IPv4 and IPv6,
 * byte for byte: every file's scenario (with Docker's own port bindings, one
 * on 0.0.0.0 and one on ::, or 127.0.0.1 and ::1) is planned with both
 * families enabled, each family rendered as iptables-save and compared with
 * DOCKER-USER's two lines removed. Removal back to the daemon-level `cleaned`
 * state is the backend's (a merge against what the kernel holds): it is
 * proven for every golden in the kernel, in iptables-apply.test.ts.
 */
import test from 'ava';
import { buildModel } from '../src/docker/model.js';
import { planIptables, renderIptablesSave } from '../src/docker/iptables/plan.js';
import { FAMILIES, type Family } from '../src/family.js';
import { parseSpec } from '../src/input/validate.js';
import { dockerIptablesGoldens, withoutDockerUser } from './helpers/conformance.js';
import { daemonSpec, parseScenarioName, scenarioSpec, variants } from './helpers/docker-scenario.js';

const goldens = { ipv4: dockerIptablesGoldens('ipv4'), ipv6: dockerIptablesGoldens('ipv6') };
const golden = (family: Family, name: string): string => {
  const file = goldens[family].find((entry) => entry.name === name);
  if (!file) throw new Error(`No ${family} golden ${name}`);
  return file.text;
};

test('all 103 of Docker\'s goldens are present in each family, for the same scenarios', (t) => {
  t.is(goldens.ipv4.length, 103);
  t.deepEqual(goldens.ipv6.map((entry) => entry.name), goldens.ipv4.map((entry) => entry.name));
});

test('a disabled family has empty tables', (t) => {
  for (const [enabled, disabled] of [['ipv6', 'ipv4'], ['ipv4', 'ipv6']] as const) {
    const plan = planIptables(buildModel(parseSpec(scenarioSpec(parseScenarioName(''), { ipv4: enabled === 'ipv4', ipv6: enabled === 'ipv6' }))));
    t.is(plan.families.map((family) => family.family).join(), enabled);
    t.is(renderIptablesSave(disabled, undefined), golden(disabled, 'no'));
  }
});

for (const hairpin of [false, true]) {
  test(`daemon set-up alone is cleaned,hairpin=${hairpin} in both families`, (t) => {
    const plan = planIptables(buildModel(parseSpec(daemonSpec({ hairpin }))));
    for (const [index, family] of FAMILIES.entries()) {
      t.is(withoutDockerUser(renderIptablesSave(family, plan.families[index])), golden(family, `cleaned,hairpin=${hairpin}`), family);
    }
  });
}

for (const { name } of goldens.ipv4.filter((entry) => entry.name !== 'no' && !entry.name.startsWith('cleaned'))) {
  test(`golden ${name}, IPv4 and IPv6`, (t) => {
    for (const options of variants(name)) {
      const plan = planIptables(buildModel(parseSpec(scenarioSpec(options, { ipv4: true, ipv6: true }))));
      for (const [index, family] of FAMILIES.entries()) {
        t.is(withoutDockerUser(renderIptablesSave(family, plan.families[index])), golden(family, name), `${family} ${JSON.stringify(options)}`);
      }
    }
  });
}

/**
 * Docker Engine v29's own expected rulesets (TestIptabler), IPv4 and IPv6,
 * byte for byte: every file's scenario (with Docker's own port bindings, one
 * on 0.0.0.0 and one on ::, or 127.0.0.1 and ::1) is planned with both
 * families enabled, each family rendered as iptables-save and compared with
 * DOCKER-USER's two lines removed; then everything is removed again and must
 * leave exactly the daemon-level `cleaned` state.
 */
import test from 'ava';
import { buildModel } from '../src/docker/model.js';
import { buildRuleset, familyPlan, planIptables, removeModel, renderIptablesSave } from '../src/docker/iptables/plan.js';
import { FAMILIES, type Family } from '../src/family.js';
import { parseSpec } from '../src/input/validate.js';
import { dockerIptablesGoldens, withoutDockerUser } from './helpers/conformance.js';
import { parseScenarioName, scenarioSpec, type ScenarioOptions } from './helpers/docker-scenario.js';

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
    const plan = planIptables(buildModel(parseSpec({ backend: 'iptables', ipv6: true, userlandProxy: !hairpin })));
    for (const [index, family] of FAMILIES.entries()) {
      t.is(withoutDockerUser(renderIptablesSave(family, plan.families[index])), golden(family, `cleaned,hairpin=${hairpin}`), family);
    }
  });
}

/** Internal goldens stand for every value of the options that cannot matter on an internal network. */
function variants(name: string): ScenarioOptions[] {
  const named = parseScenarioName(name);
  if (!named.internal) return [named];
  return [false, true].flatMap((masq) => [false, true].flatMap((snat) => [false, true].flatMap((bindlh) =>
    (['nat', 'nat-unprotected', 'routed'] as const).map((gwm) => ({ ...named, masq, snat, bindlh, gwm })))));
}

for (const { name } of goldens.ipv4.filter((entry) => entry.name !== 'no' && !entry.name.startsWith('cleaned'))) {
  test(`golden ${name}, IPv4 and IPv6`, (t) => {
    for (const options of variants(name)) {
      const model = buildModel(parseSpec(scenarioSpec(options, { ipv4: true, ipv6: true })));
      const plan = planIptables(model);
      for (const [index, family] of FAMILIES.entries()) {
        const label = `${family} ${JSON.stringify(options)}`;
        t.is(withoutDockerUser(renderIptablesSave(family, plan.families[index])), golden(family, name), label);

        const familyModel = model.families[index]!;
        const ruleset = buildRuleset(familyModel, model.ingress);
        removeModel(ruleset, familyModel, model.ingress);
        t.is(withoutDockerUser(renderIptablesSave(family, familyPlan(ruleset))), golden(family, `cleaned,hairpin=${options.hairpin}`), label);
      }
    }
  });
}

/**
 * Docker Engine v29's own expected IPv4 rulesets (TestIptabler), byte for
 * byte: every file's scenario is planned, rendered as iptables-save and
 * compared with DOCKER-USER's two lines removed; then everything is removed
 * again and must leave exactly the daemon-level `cleaned` state.
 */
import test from 'ava';
import { buildModel } from '../src/docker/model.js';
import { buildRuleset, familyPlan, planIptables, removeModel, renderIptablesSave } from '../src/docker/iptables/plan.js';
import { parseSpec } from '../src/spec/validate.js';
import { dockerIptablesGoldens, withoutDockerUser } from './helpers/conformance.js';
import { parseScenarioName, scenarioSpec, type ScenarioOptions } from './helpers/docker-scenario.js';

const goldens = dockerIptablesGoldens();
const golden = (name: string): string => {
  const file = goldens.find((entry) => entry.name === name);
  if (!file) throw new Error(`No golden ${name}`);
  return file.text;
};

test('all 103 of Docker\'s IPv4 goldens are present', (t) => {
  t.is(goldens.length, 103);
});

test('a disabled family has empty tables', (t) => {
  const plan = planIptables(buildModel(parseSpec(scenarioSpec(parseScenarioName(''), { ipv4: false, ipv6: true }))));
  t.is(plan.families.map((family) => family.family).join(), 'ipv6');
  t.is(renderIptablesSave('ipv4', undefined), golden('no'));
});

for (const hairpin of [false, true]) {
  test(`daemon set-up alone is cleaned,hairpin=${hairpin}`, (t) => {
    const plan = planIptables(buildModel(parseSpec({ backend: 'iptables', userlandProxy: !hairpin })));
    t.is(withoutDockerUser(renderIptablesSave('ipv4', plan.families[0])), golden(`cleaned,hairpin=${hairpin}`));
  });
}

/** Internal goldens stand for every value of the options that cannot matter on an internal network. */
function variants(name: string): ScenarioOptions[] {
  const named = parseScenarioName(name);
  if (!named.internal) return [named];
  return [false, true].flatMap((masq) => [false, true].flatMap((snat) => [false, true].flatMap((bindlh) =>
    (['nat', 'nat-unprotected', 'routed'] as const).map((gwm) => ({ ...named, masq, snat, bindlh, gwm })))));
}

for (const { name, text } of goldens.filter((entry) => entry.name !== 'no' && !entry.name.startsWith('cleaned'))) {
  test(`golden ${name}`, (t) => {
    for (const options of variants(name)) {
      const model = buildModel(parseSpec(scenarioSpec(options, { ipv4: true, ipv6: false })));
      const plan = planIptables(model);
      t.is(withoutDockerUser(renderIptablesSave('ipv4', plan.families[0])), text, JSON.stringify(options));

      const family = model.families[0]!;
      const ruleset = buildRuleset(family, model.ingress);
      removeModel(ruleset, family, model.ingress);
      t.is(withoutDockerUser(renderIptablesSave('ipv4', familyPlan(ruleset))), golden(`cleaned,hairpin=${options.hairpin}`));
    }
  });
}

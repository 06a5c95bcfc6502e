/**
 * The JSON Schemas the package ships (schema/): `bridgewall schema` prints
 * them as they are; the spec schema accepts every spec apply accepts (the
 * examples, the demo's, thousands of generated ones), rejects what no spec
 * can be, and names apply's defaults. The show schema is checked against real
 * `show --json` output in show.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { demoSpec } from '../src/demo/scenario.js';
import { BACKEND_NAMES } from '../src/firewall.js';
import { parseSpec } from '../src/input/validate.js';
import { cli } from './helpers/cli.js';
import { schemaCheck, schemaText } from './helpers/schema.js';
import { hostileSpec, random } from './reliability/hostile.js';

const checkSpec = schemaCheck('spec');
const ROOT = path.resolve(__dirname, '..', '..');

test('bridgewall schema prints the shipped schemas; any other name is a usage error', async (t) => {
  for (const name of ['spec', 'show'] as const) {
    const run = await cli('schema', name);
    t.is(run.code, 0, run.stderr);
    t.is(run.stdout, schemaText(name));
  }
  const wrong = await cli('schema', 'model');
  t.is(wrong.code, 2);
  t.is(wrong.stderr, 'error: EUSAGE: schema takes one name: spec or show\n');
});

test('the spec schema accepts the examples and the demo spec of every backend', (t) => {
  t.deepEqual(checkSpec(JSON.parse(readFileSync(path.join(ROOT, 'src', 'examples', 'web.json'), 'utf8'))), []);
  for (const backend of BACKEND_NAMES) t.deepEqual(checkSpec(demoSpec(backend)), [], backend);
});

test('the spec schema accepts every generated spec that apply accepts', (t) => {
  const next = random(0x5c4e);
  let accepted = 0;
  for (let i = 0; i < 2_000; i++) {
    const { spec } = hostileSpec(next, BACKEND_NAMES[i % BACKEND_NAMES.length]!);
    try {
      parseSpec(spec);
    } catch {
      continue;
    }
    accepted++;
    const errors = checkSpec(spec);
    if (errors.length > 0) return t.fail(`${JSON.stringify(spec)}: ${errors.join('; ')}`);
  }
  t.true(accepted > 500, `${accepted} accepted`);
});

test('the spec schema rejects what no spec can be', (t) => {
  const network = { bridge: 'br0', ipv4: { subnet: '198.18.1.0/24' } };
  for (const [what, spec] of [
    ['an unknown field', { networks: [network], colour: 'blue' }],
    ['an unknown backend', { backend: 'pf' }],
    ['a network without a subnet', { networks: [{ bridge: 'br0' }] }],
    ['a bridge name too long for an interface', { networks: [{ ...network, bridge: 'a-very-long-bridge-name' }] }],
    ['a port range in the wrong notation', { networks: [{ ...network, endpoints: [{ ipv4: '198.18.1.2', ports: [{ containerPort: '80:81' }] }] }] }],
    ['a port out of range', { networks: [{ ...network, endpoints: [{ ipv4: '198.18.1.2', ports: [{ containerPort: 65536 }] }] }] }],
  ] as const) {
    t.notDeepEqual(checkSpec(spec), [], what);
    t.throws(() => parseSpec(spec), undefined, what);
  }
});

test("the spec schema's defaults are apply's", (t) => {
  const schema = JSON.parse(schemaText('spec'));
  const parsed = parseSpec({ networks: [{ bridge: 'br0', ipv4: { subnet: '198.18.1.0/24' }, endpoints: [{ ipv4: '198.18.1.2', ports: [{ hostPort: 8080, containerPort: 80 }] }] }] });
  for (const field of ['backend', 'ipv4', 'ipv6', 'userlandProxy', 'ipForward', 'forwardDrop'] as const) {
    t.is(schema.properties[field].default, parsed[field], field);
  }
  const network = parsed.networks[0]!;
  for (const field of ['internal', 'icc', 'masquerade', 'gatewayMode'] as const) {
    t.is(schema.$defs.network.properties[field].default, network[field], `network ${field}`);
  }
  t.is(schema.$defs.port.oneOf[1].properties.proto.default, network.endpoints[0]!.ports[0]!.proto);
});

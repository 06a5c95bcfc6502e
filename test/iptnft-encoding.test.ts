/**
 * The iptables-nft encoder (src/iptnft) against iptables-nft 1.8.9 itself:
 * every ruleset the planner makes for Docker's golden scenarios (both
 * families), one with swarm ingress and udp/sctp ports, and the other rule
 * forms the model has, are written with `iptables-nft-restore` into one
 * namespace and through the encoder and NftBatch into another. The two must
 * hold the same nf_tables objects: `nft --debug=netlink list table` prints
 * the same, and reading both back gives the same chains and the same rules,
 * expression for expression, xt infos byte for byte. Then the encoder's
 * namespace must `iptables-nft-save` as Docker's golden, and `iptables-nft -C`
 * and `-D` must find each of its rules.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { xtExtensionsOf } from './helpers/native-hostile';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { callNativeSync, NetfilterError, ValidationError } from '../src/errors.js';
import { buildModel } from '../src/docker/model.js';
import { planIptables } from '../src/docker/iptables/plan.js';
import type { TablePlan } from '../src/docker/iptables/ruleset.js';
import { BUILTIN_CHAINS, compareChains, formatRule, formatSave, type IptTableSnapshot } from '../src/iptc/format.js';
import { FAMILIES, type Family } from '../src/family.js';
import type { IptRule, IptTableName } from '../src/iptc/rule.js';
import { decodeIptnftRules } from '../src/iptnft/decode.js';
import { encodeIptnftRules } from '../src/iptnft/encode.js';
import { IPTNFT_FAMILY, iptnftBaseChains } from '../src/iptnft/tables.js';
import { binding } from '../src/native/binding.js';
import { expr, NftBatch, NftConnection } from '../src/nft/index.js';
import { encodeOperations, encodeRules } from '../src/iptc/encode.js';
import type { SpecInput } from '../src/input/types.js';
import { parseSpec } from '../src/input/validate.js';
import { dockerIptablesGoldens, DOCKER_IP6TABLES_GOLDEN_DIR, withoutDockerUser } from './helpers/conformance.js';
import { parseScenarioName, scenarioSpec } from './helpers/docker-scenario.js';
import { createNetns, kernelTest, normaliseSave, type TestNetns } from './helpers/netns.js';

interface Chain {
  name: string;
  rules: readonly IptRule[];
}

/** A table's chains in iptables-save's order: built-in chains, then user chains by name. */
function saveOrder(table: IptTableSnapshot): Chain[] {
  const byName = new Map(table.chains.map((chain) => [chain.name, chain.rules]));
  const builtins = BUILTIN_CHAINS[table.name];
  const users = table.chains.map((chain) => chain.name).filter((name) => !builtins.includes(name));
  return [...builtins, ...users.sort((a, b) => compareChains(table.name, a, b))]
    .map((name) => ({ name, rules: byName.get(name) ?? [] }));
}

function snapshot(table: TablePlan): IptTableSnapshot {
  return { name: table.name, chains: table.chains.map((chain) => ({ name: chain.name, rules: [...chain.head, ...chain.tail] })) };
}

/** What iptables-nft-restore does with the save text of `tables`, through the encoder: one batch. */
function encoderBatch(family: Family, tables: readonly IptTableSnapshot[]): NftBatch {
  const batch = new NftBatch();
  const nftFamily = IPTNFT_FAMILY[family];
  for (const table of tables) {
    batch.addTable({ family: nftFamily, name: table.name });
    const chains = saveOrder(table);
    const builtins = BUILTIN_CHAINS[table.name];
    for (const base of iptnftBaseChains(family, table.name)) batch.addChain(base);
    for (const chain of chains.filter((c) => !builtins.includes(c.name))) {
      batch.addChain({ family: nftFamily, table: table.name, name: chain.name });
    }
    for (const chain of chains) {
      const encoded = encodeIptnftRules(family, table.name, chain.rules);
      chain.rules.forEach((_, index) => batch.addRule({ family: nftFamily, table: table.name, chain: chain.name, bodies: encoded, index }));
    }
  }
  return batch;
}

/** The namespace iptables-nft writes into, and the one the encoder writes into. */
interface Pair {
  family: Family;
  tool: TestNetns;
  encoder: TestNetns;
  toolConnection: NftConnection;
  encoderConnection: NftConnection;
  directory: string;
}

async function namespacePair(t: ExecutionContext, family: Family): Promise<Pair> {
  const tool = await createNetns(t, 'iptnft-tool');
  const encoder = await createNetns(t, 'iptnft-enc');
  const toolConnection = await NftConnection.open({ netns: tool.path });
  const encoderConnection = await NftConnection.open({ netns: encoder.path });
  const directory = mkdtempSync(join(tmpdir(), 'bw-iptnft-'));
  t.teardown(() => {
    toolConnection.close();
    encoderConnection.close();
    rmSync(directory, { recursive: true, force: true });
  });
  return { family, tool, encoder, toolConnection, encoderConnection, directory };
}

const restoreTool = (family: Family): string => (family === 'ipv4' ? 'iptables-nft-restore' : 'ip6tables-nft-restore');
const saveTool = (family: Family): string => (family === 'ipv4' ? 'iptables-nft-save' : 'ip6tables-nft-save');
const commandTool = (family: Family): string => (family === 'ipv4' ? 'iptables-nft' : 'ip6tables-nft');

/** Reads a table back through our own dump: chains and rules with every attribute, infos as bytes. */
async function readBack(connection: NftConnection, family: Family, table: string): Promise<unknown> {
  const state = await connection.readTable(IPTNFT_FAMILY[family], table);
  return { chains: state.chains, rules: state.rules, sets: state.sets };
}

/** Writes `tables` through the encoder into a namespace without tables, and returns its iptables-nft-save text. */
async function encodeAndSave(pair: Pair, tables: readonly IptTableSnapshot[]): Promise<string> {
  const cleared = new NftBatch();
  for (const table of await pair.encoderConnection.listTables()) cleared.deleteTable(table);
  if (cleared.length > 0) await pair.encoderConnection.commit(cleared);
  await pair.encoderConnection.commit(encoderBatch(pair.family, tables));
  return normaliseSave(await pair.encoder.run(saveTool(pair.family)));
}

/**
 * Writes `tables` with iptables-nft-restore into the tool's namespace and
 * through the encoder into the other, and compares the two. Returns the
 * encoder namespace's iptables-nft-save text.
 */
async function compare(t: ExecutionContext, pair: Pair, tables: readonly IptTableSnapshot[]): Promise<string> {
  const { family } = pair;
  const nftFamily = IPTNFT_FAMILY[family];
  const file = join(pair.directory, 'rules');
  writeFileSync(file, formatSave(family, tables));
  await pair.tool.run(restoreTool(family), file);
  const save = await encodeAndSave(pair, tables);
  t.is(
    await pair.encoder.run('nft', '--debug=netlink', 'list', 'ruleset'),
    await pair.tool.run('nft', '--debug=netlink', 'list', 'ruleset'),
    'nft --debug=netlink list ruleset',
  );
  for (const table of tables) {
    t.deepEqual(
      await readBack(pair.encoderConnection, family, table.name),
      await readBack(pair.toolConnection, family, table.name),
      `table ${nftFamily} ${table.name} read back`,
    );
  }
  const toolSave = normaliseSave(await pair.tool.run(saveTool(family)));
  t.is(save, toolSave, saveTool(family));
  await decodesAsSaved(t, pair, tables, toolSave);
  return save;
}

/**
 * Every rule iptables-nft-restore wrote reads back through the decoder as
 * a rule of the model, which prints as iptables-nft-save prints it.
 */
async function decodesAsSaved(t: ExecutionContext, pair: Pair, tables: readonly IptTableSnapshot[], save: string): Promise<void> {
  const lines: string[] = [];
  for (const table of tables) {
    const state = await pair.toolConnection.readTable(IPTNFT_FAMILY[pair.family], table.name);
    for (const entry of decodeIptnftRules(pair.family, table.name, state.rules)) {
      t.is(entry.unsupported, undefined, `${table.name}: a rule decodes`);
      if (entry.rule) lines.push(`-A ${state.rules.find((rule) => rule.handle === entry.handle)!.chain} ${formatRule(pair.family, entry.rule)}`);
    }
  }
  const saved = save.split('\n').filter((line) => line.startsWith('-A '));
  t.deepEqual(lines.sort(), saved.sort(), 'decoded rules print as iptables-nft-save prints them');
}

/** The rules of a save text, each as `iptables -C` arguments. */
function checkCommands(save: string): string[][] {
  const commands: string[][] = [];
  let table = '';
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    if (line.startsWith('-A ')) commands.push(['-t', table, '-C', ...line.slice(3).split(' ')]);
  }
  return commands;
}

const EXTRA: Record<Family, { source: string; prefix: string; wide: string; address: string }> = {
  ipv4: { source: '198.51.100.7', prefix: '198.18.0.0/15', wide: '203.0.113.0/24', address: '192.0.2.2' },
  ipv6: { source: '2001:db8::7', prefix: '2001:db8:40::/44', wide: '2001:db8:1::/48', address: '2001:db8::2' },
};

/** Rule forms of the model the planner does not make today, each once. */
function modelForms(family: Family): IptTableSnapshot[] {
  const { source, prefix, wide, address } = EXTRA[family];
  const filter: IptRule[] = [
    { inInterface: 'br-x+', target: { name: 'DROP' } },
    { outInterface: 'veth+', outInterfaceNegated: true, source: prefix, target: { name: 'RETURN' } },
    { source, sourceNegated: true, destination: wide, destinationNegated: true, target: { name: 'jump', chain: 'X-ONE', goto: true } },
    { protocol: 'tcp', matches: [{ name: 'tcp', sourcePort: 1000, destinationPort: 80 }], target: { name: 'ACCEPT' } },
    { protocol: 'udp', matches: [{ name: 'udp', sourcePort: 1000, sourcePortNegated: true, destinationPort: 80, destinationPortNegated: true }], target: { name: 'ACCEPT' } },
    { protocol: 'tcp', matches: [{ name: 'tcp', sourcePort: 1000, destinationPort: 80, destinationPortNegated: true }], target: { name: 'ACCEPT' } },
    { protocol: 'tcp', matches: [{ name: 'tcp', destinationPort: [8000, 8010] }], target: { name: 'ACCEPT' } },
    { protocol: 'udp', matches: [{ name: 'udp', sourcePort: [8000, 8010], sourcePortNegated: true }], target: { name: 'ACCEPT' } },
    { protocol: 'sctp', matches: [{ name: 'sctp', sourcePort: [1, 2], destinationPort: 9, destinationPortNegated: true }], target: { name: 'ACCEPT' } },
    { protocol: 'udp', protocolNegated: true, target: { name: 'DROP' } },
    { matches: [{ name: 'conntrack', states: ['NEW', 'INVALID'], statesNegated: true }], target: { name: 'DROP' } },
    { matches: [{ name: 'addrtype', sourceType: 'LOCAL', sourceTypeNegated: true, destinationType: 'UNICAST' }], target: { name: 'DROP' } },
    { matches: [{ name: 'mark', mark: 0x10, mask: 0xff }], target: { name: 'ACCEPT' } },
    { matches: [{ name: 'mark', mark: 7, negated: true }], target: { name: 'ACCEPT' } },
    { matches: [{ name: 'comment', comment: 'published by bridgewall' }], target: { name: 'ACCEPT' } },
    { inInterface: '+', outInterface: '+', outInterfaceNegated: true, target: { name: 'DROP' } },
    { source: family === 'ipv4' ? '0.0.0.0/0' : '::/0', target: { name: 'DROP' } },
    { protocol: 'tcp', matches: [{ name: 'tcp' }], target: { name: 'DROP' } },
    { protocol: 'udp', matches: [{ name: 'udp', sourcePort: [1, 65535] }], target: { name: 'DROP' } },
  ];
  const prerouting: IptRule[] = [
    { protocol: 'udp', matches: [{ name: 'udp', destinationPort: [5000, 5009] }], target: { name: 'DNAT', toAddress: address, toPort: [6000, 6009] } },
    { protocol: 'tcp', target: { name: 'DNAT', toAddress: address } },
  ];
  const postrouting: IptRule[] = [
    { protocol: 'sctp', outInterface: 'eth0', target: { name: 'SNAT', toAddress: address, toPort: 40000 } },
    { protocol: 'tcp', target: { name: 'MASQUERADE', toPort: [30000, 30100] } },
  ];
  return [
    { name: 'filter', chains: [{ name: 'FORWARD', rules: filter }, { name: 'X-ONE', rules: [] }] },
    { name: 'nat', chains: [{ name: 'PREROUTING', rules: prerouting }, { name: 'POSTROUTING', rules: postrouting }] },
    { name: 'mangle', chains: [] },
  ];
}

interface Scenario {
  name: string;
  tables: IptTableSnapshot[];
  golden: string;
}

function plannedTables(family: Family, spec: SpecInput): IptTableSnapshot[] {
  return planIptables(buildModel(parseSpec(spec))).families.find((f) => f.family === family)!.tables.map(snapshot);
}

function goldenScenarios(family: Family): Scenario[] {
  const goldens = family === 'ipv4'
    ? dockerIptablesGoldens()
    : dockerIptablesGoldens().map((entry) => ({
      name: entry.name,
      text: readFileSync(join(DOCKER_IP6TABLES_GOLDEN_DIR, `${entry.name}__ip6tables.golden`), 'utf8'),
    }));
  const families = { ipv4: family === 'ipv4', ipv6: family === 'ipv6' };
  return goldens.filter((entry) => entry.name !== 'no').map((entry) => {
    const cleaned = entry.name.startsWith('cleaned');
    const options = parseScenarioName(cleaned ? entry.name.slice('cleaned,'.length) : entry.name);
    const spec: SpecInput = cleaned
      ? { backend: 'iptables', ...families, userlandProxy: !options.hairpin }
      : scenarioSpec(options, families);
    return { name: entry.name, tables: plannedTables(family, spec), golden: entry.text };
  });
}

/** Swarm ingress (IPv4 only) and udp and sctp ports, which no golden has. */
function ingressAndProtocols(family: Family): IptTableSnapshot[] {
  const spec = scenarioSpec(parseScenarioName('hairpin=true,bindlh=false'), { ipv4: family === 'ipv4', ipv6: family === 'ipv6' });
  spec.networks![0]!.endpoints![0]!.ports = [
    { proto: 'udp', hostPort: 5353, containerPort: 53 },
    { proto: 'sctp', hostPort: 9999, containerPort: 9 },
  ];
  if (family === 'ipv4') {
    spec.ingress = {
      bridge: 'docker_gwbridge',
      address: '198.18.5.2',
      ports: [{ proto: 'tcp', port: 80 }, { proto: 'udp', port: 53 }, { proto: 'sctp', port: 9 }],
    };
  }
  return plannedTables(family, spec);
}

/** Every distinct rule of `rulesets`, chain by chain, in the order first seen. */
function union(family: Family, rulesets: readonly IptTableSnapshot[][]): IptTableSnapshot[] {
  const tables = new Map<IptTableName, Map<string, Map<string, IptRule>>>();
  for (const ruleset of rulesets) {
    for (const table of ruleset) {
      const chains = tables.get(table.name) ?? new Map<string, Map<string, IptRule>>();
      tables.set(table.name, chains);
      for (const chain of table.chains) {
        const rules = chains.get(chain.name) ?? new Map<string, IptRule>();
        chains.set(chain.name, rules);
        for (const rule of chain.rules) rules.set(formatRule(family, rule), rule);
      }
    }
  }
  return [...tables].map(([name, chains]) => ({
    name,
    chains: [...chains].map(([chain, rules]) => ({ name: chain, rules: [...rules.values()] })),
  }));
}

for (const family of FAMILIES) {
  kernelTest(`${family}: the model's other rule forms encode as iptables-nft writes them`, async (t) => {
    const pair = await namespacePair(t, family);
    await compare(t, pair, modelForms(family));
  });

  kernelTest(`${family}: every rule the planner makes for Docker's goldens, ingress, udp and sctp encodes as iptables-nft writes it, and -C and -D find it`, async (t) => {
    const pair = await namespacePair(t, family);
    const tables = union(family, [...goldenScenarios(family).map((scenario) => scenario.tables), ingressAndProtocols(family)]);
    const save = await compare(t, pair, tables);
    const commands = checkCommands(save);
    for (const command of commands) await pair.encoder.run(commandTool(family), ...command);
    for (const command of commands) await pair.encoder.run(commandTool(family), ...command.map((word) => (word === '-C' ? '-D' : word)));
    t.notRegex(normaliseSave(await pair.encoder.run(saveTool(family))), /^-A /m, 'every rule deleted by -D');
    t.log(`${commands.length} distinct rules compared, each found by ${commandTool(family)} -C and deleted by -D`);
  });

  kernelTest(`${family}: every golden scenario written by the encoder saves as Docker's golden`, async (t) => {
    const pair = await namespacePair(t, family);
    for (const scenario of goldenScenarios(family)) {
      const save = await encodeAndSave(pair, scenario.tables);
      t.is(withoutDockerUser(save.trimEnd() + '\n'), scenario.golden, `${scenario.name}: ${saveTool(family)}`);
    }
  });
}

test('a rule the legacy encoder refuses is refused by the same check, named by its place in the list', (t) => {
  const error = t.throws(() => encodeIptnftRules('ipv4', 'filter', [
    { target: { name: 'ACCEPT' } },
    { matches: [{ name: 'tcp', destinationPort: 80 }], target: { name: 'ACCEPT' } },
  ]), { instanceOf: ValidationError });
  t.is(error.code, 'EVALIDATION');
  t.is(error.field, 'rules[1].protocol');
  const nat = t.throws(() => encodeIptnftRules('ipv6', 'filter', [{ target: { name: 'MASQUERADE' } }]), { instanceOf: ValidationError });
  t.is(nat.field, 'rules[0].target.name');
});

test('a negated /0 prefix, which iptables-nft cannot write, is refused', (t) => {
  const error = t.throws(() => encodeIptnftRules('ipv4', 'filter', [
    { destination: '0.0.0.0/0', destinationNegated: true, target: { name: 'DROP' } },
  ]), { instanceOf: ValidationError });
  t.is(error.code, 'EVALIDATION');
  t.is(error.field, 'rules[0].destinationNegated');
});

test('a rule\'s compat protocol is a protocol number and a boolean negation', (t) => {
  const rule = { family: 'ip', table: 'filter', chain: 'FORWARD', exprs: [] } as const;
  const protocol = t.throws(() => new NftBatch().addRule({ ...rule, compat: { protocol: 256, negated: false } }), { instanceOf: ValidationError });
  t.is(protocol.field, 'compat.protocol');
  const negated = t.throws(() => new NftBatch().addRule({ ...rule, compat: { protocol: 6, negated: 1 as unknown as boolean } }), { instanceOf: ValidationError });
  t.is(negated.field, 'compat.negated');
  const batch = new NftBatch().addRule({ ...rule, compat: { protocol: 6, negated: true } });
  // Packed (NATIVE_RULE_OP): op add, family ip, table, chain, fields compat and exprs, protocol 6, NFT_RULE_COMPAT_F_INV, no expressions.
  t.deepEqual(batch.messages, [{ kind: 'rules', rules: Buffer.from([0, 2, 6, ...Buffer.from('filter'), 7, ...Buffer.from('FORWARD'), 8 | 16, 6, 2, 0, 0]) }]);
});

test('iptcXtExtensions builds extensions of appended rules only, and refuses other operations with EINVAL', (t) => {
  const packed = encodeOperations('ipv4', 'filter', [{ op: 'deleteAt', chain: 'FORWARD', index: 0 }]);
  const error = t.throws(() => callNativeSync(() => binding.iptcXtExtensions('ipv4', packed)), { instanceOf: NetfilterError });
  t.is(error.code, 'EINVAL');
  t.is(error.operation, 'iptc.xtExtensions');
  const [rule] = xtExtensionsOf(binding.iptcXtExtensions('ipv4', encodeRules('ipv4', 'nat', [
    { protocol: 'tcp', matches: [{ name: 'conntrack', states: ['NEW'] }], target: { name: 'DNAT', toAddress: '192.0.2.2', toPort: 80 } },
  ], 'rules')));
  t.deepEqual(rule!.matches.map((match) => [match.name, match.revision, match.info.length]), [['conntrack', 3, 168]]);
  t.deepEqual([rule!.target!.name, rule!.target!.revision, rule!.target!.info.length], ['DNAT', 2, 48]);
});

kernelTest('an xt info longer than any extension\'s is refused before the kernel sees it', async (t) => {
  const ns = await createNetns(t, 'iptnft-info');
  const connection = await NftConnection.open({ netns: ns.path });
  t.teardown(() => connection.close());
  const batch = new NftBatch()
    .addTable({ family: 'ip', name: 'filter' })
    .addChain({ family: 'ip', table: 'filter', name: 'X' })
    .addRule({ family: 'ip', table: 'filter', chain: 'X', exprs: [expr.xtMatch('comment', 0, new Uint8Array(401))] });
  const error = await t.throwsAsync(connection.commit(batch), { instanceOf: NetfilterError });
  t.is(error.code, 'EINVAL');
  t.regex(error.message, /exprs\[0\]\.info must be at most 400 bytes/);
  t.deepEqual(await connection.listTables(), []);
});

kernelTest('a table read again with the handles it knows comes back without those rules\' expressions, with their counters', async (t) => {
  const pair = await namespacePair(t, 'ipv4');
  const tables = modelForms('ipv4');
  await encodeAndSave(pair, tables);
  const first = await pair.encoderConnection.readTable('ip', 'filter');
  const known = first.rules.slice(0, 3).map((rule) => rule.handle);
  const again = await pair.encoderConnection.readTable('ip', 'filter', { knownHandles: Float64Array.from(known) });
  t.deepEqual(again.rules.map((rule) => rule.handle), first.rules.map((rule) => rule.handle), 'every rule, in order');
  for (const rule of again.rules) {
    if (known.includes(rule.handle)) t.like(rule, { known: true, exprs: [], packets: 0, bytes: 0 });
    else t.deepEqual(rule, first.rules.find((other) => other.handle === rule.handle));
  }
  const decodedFirst = decodeIptnftRules('ipv4', 'filter', first.rules);
  const byHandle = new Map(decodedFirst.map((entry) => [entry.handle, entry.rule ? { rule: entry.rule } : { unsupported: entry.unsupported! }]));
  t.deepEqual(decodeIptnftRules('ipv4', 'filter', again.rules, byHandle), decodedFirst, 'decoded alike');
  const error = await t.throwsAsync(pair.encoderConnection.readTable('ip', 'filter', { knownHandles: Float64Array.of(-1) }), { instanceOf: NetfilterError });
  t.is(error.code, 'EINVAL');
});

test('an operation the encoder refuses is named by its place and field, after valid ones naming the same chains and interfaces', (t) => {
  const accept = { op: 'append', chain: 'FORWARD', rule: { inInterface: 'br0', target: { name: 'ACCEPT' } } };
  const error = t.throws(() => encodeOperations('ipv4', 'filter', [accept, accept, {
    op: 'append', chain: 'FORWARD', rule: { inInterface: 'br0', protocol: 'tcp', matches: [{ name: 'tcp', destinationPort: 70000 }], target: { name: 'ACCEPT' } },
  }]), { instanceOf: ValidationError });
  t.is(error.code, 'EVALIDATION');
  t.is(error.field, 'operations[2].rule.matches[0].destinationPort');
  t.regex(error.message, /^operations\[2\]\.rule\.matches\[0\]\.destinationPort: Expected a port from 1 to 65535 for operations\[2\]/);
  // A name found valid before is no pass for one that is not.
  const name = t.throws(() => encodeOperations('ipv4', 'filter', [accept, { ...accept, rule: { inInterface: 'br 0', target: { name: 'ACCEPT' } } }]), { instanceOf: ValidationError });
  t.is(name.field, 'operations[1].rule.inInterface');
});

/**
 * Set elements compared as packed bytes (set-elements.ts, the addon's
 * nftMatchElements) decide exactly what the text-keyed comparison they
 * replaced decided: the same elements added and deleted, in the same order,
 * whatever a table holds besides the plan (elements missing, foreign, with
 * another value or verdict, ranges changed), and a plan's repeated element
 * kept once, with its last value, in its first place.
 */
import test from 'ava';
import { buildModel } from '../src/docker/model.js';
import { NetfilterError, ValidationError } from '../src/errors.js';
import { parseSpec } from '../src/input/validate.js';
import type { SpecInput } from '../src/input/types.js';
import { diffTable } from '../src/backends/nftables/diff.js';
import { verdictText } from '../src/backends/nftables/elements.js';
import type { ElementImage, SetImage, TableImage } from '../src/backends/nftables/image.js';
import { planNftables } from '../src/backends/nftables/plan.js';
import { ElementsPacker, SetElements } from '../src/backends/nftables/set-elements.js';
import { Transaction } from '../src/backends/nftables/transaction.js';
import { matchElements, NO_KEY, otherValue } from '../src/nft/elements.js';
import { KeyPacker } from '../src/nft/keys.js';
import { Firewall } from '../src/firewall.js';
import { RICH_SPEC } from './helpers/rich-spec.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';

const SPEC: SpecInput = {
  ...RICH_SPEC, backend: 'nftables',
  networks: RICH_SPEC.networks!.map((network, i) => (i > 0 ? network : {
    ...network,
    // A second host port for container port 80: its forward accept and hairpin elements are planned twice.
    endpoints: [{ ...network.endpoints![0]!, ports: [...network.endpoints![0]!.ports!, { proto: 'tcp', hostPort: 8081, containerPort: 80 }] }],
  })),
};

const packed = (types: ConstructorParameters<typeof KeyPacker>[0], keys: (string | number)[][]) => {
  const packer = new KeyPacker(types);
  for (const key of keys) packer.add(key);
  return packer;
};

test('KeyPacker packs each key\'s own addresses and names, repeated or not, and refuses a part of the wrong kind', (t) => {
  const keys = packed(['ifname', 'ipv4_addr', 'inet_service'], [['br-a', '198.18.1.2', 80], ['br-a', '198.18.1.2', 81], ['br-b', '198.18.1.3', 80], ['br-a', '198.18.1.2', 80]]);
  const hex = Buffer.from(keys.bytes()).toString('hex').match(/.{48}/g)!;
  t.is(hex[0], hex[3]);
  t.is(hex[1]!.slice(0, 40), hex[0]!.slice(0, 40));
  t.is(hex[2], `${Buffer.from('br-b').toString('hex')}${'00'.repeat(12)}c6120103${'0050'}0000`);
  for (const parts of [['br-a', 80, 80], ['br-a', '198.18.1.2', '80'], [7, '198.18.1.2', 80], ['br-a', '2001:db8::1', 80], ['br-a', '198.18.1.2']]) {
    const error = t.throws(() => new KeyPacker(['ifname', 'ipv4_addr', 'inet_service']).add(parts), { instanceOf: ValidationError });
    t.is(error?.field, 'key');
  }
});

test('KeyPacker.addPortRun packs what adding each key does, after keys already packed, and refuses what add refuses', (t) => {
  const ports = Array.from({ length: 37 }, (_, i) => 8000 + i * 3);
  for (const [types, prefix] of [
    [['ifname', 'ipv4_addr', 'inet_proto', 'inet_service'], ['br-a', '198.18.1.2', 6]],
    [['inet_service'], []],
  ] as const) {
    const run = packed(types, [[...prefix, 1]]);
    run.addPortRun(prefix, ports);
    const each = packed(types, [[...prefix, 1], ...ports.map((port) => [...prefix, port])]);
    t.deepEqual(Buffer.from(run.bytes()), Buffer.from(each.bytes()));
    t.is(run.count, ports.length + 1);
  }
  for (const bad of [[80, 70000], [80, 8.5]]) {
    const error = t.throws(() => new KeyPacker(['ipv4_addr', 'inet_service']).addPortRun(['198.18.1.2'], bad), { instanceOf: ValidationError });
    t.is(error?.field, 'key');
  }
  t.throws(() => new KeyPacker(['inet_service', 'ipv4_addr']).addPortRun([80], [1, 2]), { instanceOf: ValidationError }, 'a key not ending with a port');
});

test('matchElements: each element\'s match by key and value, by key with another value, or none', (t) => {
  const keys = packed(['ipv4_addr', 'inet_service'], [['198.18.1.2', 80], ['198.18.1.3', 80], ['198.18.1.4', 80]]);
  const values = packed(['inet_service'], [[8080], [8081], [8082]]);
  const have = { count: 3, keyLen: keys.length, keys: keys.bytes(), dataLen: 2, data: values.bytes() };
  const wantKeys = packed(['ipv4_addr', 'inet_service'], [['198.18.1.4', 80], ['198.18.1.9', 80], ['198.18.1.2', 80]]);
  const wantValues = packed(['inet_service'], [[8082], [8080], [9999]]);
  const want = { count: 3, keyLen: wantKeys.length, keys: wantKeys.bytes(), dataLen: 2, data: wantValues.bytes() };
  t.deepEqual([...matchElements(have, want)!], [2, NO_KEY, otherValue(0)]);
  t.is(otherValue(otherValue(5)), 5);
});

test('matchElements: null when both hold the same elements, in any order, and only then', (t) => {
  const set = (keys: number[][], values: number[][]) => {
    const [packedKeys, packedValues] = [packed(['inet_proto', 'inet_service'], keys), packed(['inet_service'], values)];
    return { count: keys.length, keyLen: packedKeys.length, keys: packedKeys.bytes(), dataLen: 2, data: packedValues.bytes() };
  };
  const held = set([[6, 80], [17, 53], [6, 443]], [[8080], [5300], [8443]]);
  t.is(matchElements(held, set([[6, 443], [6, 80], [17, 53]], [[8443], [8080], [5300]])), null);
  t.is(matchElements(held, held), null);
  // One more, one fewer, one repeated (matched with itself: its first), one with another value.
  t.deepEqual([...matchElements(held, set([[6, 443], [6, 80], [17, 53], [6, 22]], [[8443], [8080], [5300], [22]]))!], [2, 0, 1, NO_KEY]);
  t.deepEqual([...matchElements(held, set([[6, 443], [6, 80]], [[8443], [8080]]))!], [2, 0]);
  const repeated = set([[6, 80], [17, 53], [6, 80]], [[8080], [5300], [8080]]);
  t.deepEqual([...matchElements(repeated, repeated)!], [0, 1, 0]);
  t.deepEqual([...matchElements(held, set([[6, 80], [17, 53], [6, 443]], [[8080], [5300], [9443]]))!], [0, 1, otherValue(2)]);
});

test('matchElements: a set of ranges matches by the key and the key that closes the range', (t) => {
  const type = ['ipv4_addr', 'inet_proto', 'inet_service'] as const;
  const starts = packed([...type], [['198.18.1.2', 6, 10000], ['198.18.1.2', 6, 10000]]);
  const ends = packed([...type], [['198.18.1.2', 6, 10099], ['198.18.1.2', 6, 10049]]);
  const have = { count: 1, keyLen: starts.length, keys: starts.bytes().subarray(0, starts.length), keyEnds: ends.bytes().subarray(0, starts.length) };
  const want = { count: 2, keyLen: starts.length, keys: starts.bytes(), keyEnds: ends.bytes() };
  t.deepEqual([...matchElements(have, want)!], [0, NO_KEY]);
});

test('matchElements refuses sets packed unlike each other or short of their count (EINVAL)', (t) => {
  const keys = packed(['inet_service'], [[80], [443]]);
  const set = { count: 2, keyLen: 2, keys: keys.bytes() };
  for (const [have, want] of [
    [set, { ...set, keyEnds: keys.bytes() }],
    [set, { ...set, dataLen: 2, data: keys.bytes() }],
    [set, { ...set, count: 3 }],
    [{ ...set, keyLen: 0 }, set],
    [set, { ...set, keys: [80, 443] as unknown as Uint8Array }],
  ] as const) {
    const error = t.throws(() => matchElements(have, want), { instanceOf: NetfilterError });
    t.is(error?.code, 'EINVAL');
  }
});

test('a set planned with an element twice keeps it once, in its first place, with its last value', (t) => {
  const layout = { key: ['inet_proto', 'inet_service'], data: ['ipv4_addr', 'inet_service'] } as const;
  const packer = new ElementsPacker(layout);
  packer.add([6, 80], undefined, ['198.18.1.2', 80]);
  packer.add([17, 53], undefined, ['198.18.1.3', 53]);
  packer.add([6, 80], undefined, ['198.18.1.4', 8080]);
  const elements = packer.finish();
  t.deepEqual([...elements.map].map(([key, element]) => `${key} : ${element.valueText}`), ['tcp . 80 : 198.18.1.4 . 8080', 'udp . 53 : 198.18.1.3 . 53']);
  const verdicts = new ElementsPacker({ key: ['ifname'], data: 'verdict' });
  verdicts.add(['br-a'], undefined, undefined, { code: -3, chain: 'one' });
  verdicts.add(['br-a'], undefined, undefined, { code: -3, chain: 'two' });
  t.deepEqual([...verdicts.finish().map.values()].map((element) => element.verdict), [{ code: -3, chain: 'two' }]);
});

test('the plan holds each element once, as a map by text would', (t) => {
  const [ipv4] = planNftables(buildModel(parseSpec(SPEC)));
  const forward = ipv4!.sets.get('forward-ports')!.elements;
  t.is(forward.size, forward.map.size);
  t.true(forward.map.has('198.18.1.2 . tcp . 80'));
});

/** The text-keyed comparison the packed one replaced, as its script lines: what to delete and add, per set. */
function textDiff(table: string, set: SetImage, current: ReadonlyMap<string, ElementImage>, desired: ReadonlyMap<string, ElementImage>) {
  const text = (key: string, element: ElementImage) =>
    element.valueText === undefined ? key : `${key} : ${element.verdict ? verdictText(element.verdict) : element.valueText}`;
  const added = new Map<string, ElementImage>();
  const removed = new Map<string, ElementImage>();
  if (current.size === 0) for (const [key, element] of desired) added.set(key, element);
  else {
    for (const [key, element] of desired) {
      const existing = current.get(key);
      if (existing && existing.valueText === element.valueText) continue;
      if (existing) removed.set(key, existing);
      added.set(key, element);
    }
    for (const [key, element] of current) if (!desired.has(key)) removed.set(key, element);
  }
  return {
    deleted: removed.size === 0 ? [] : [`delete element ${table} ${set.name} { ${[...removed.keys()].join(', ')} }`],
    added: added.size === 0 ? [] : [`add element ${table} ${set.name} { ${[...added].map(([key, element]) => text(key, element)).join(', ')} }`],
  };
}

/** Another address (its last number 99) or interface name. */
function another(part: string | number): string | number {
  if (typeof part === 'number') return part + 1;
  return part.includes('.') || part.includes(':') ? part.replace(/\d+$/, '99') : `${part}x`;
}

/** A deterministic choice: element i of a set of `salt` is changed when this says so. */
const pick = (i: number, salt: number, every: number) => (i * 7 + salt) % every === 0;

/** `desired` as another writer may have left it: some elements gone, some with another value or verdict, foreign ones added. */
function perturbed(desired: TableImage, salt: number): TableImage {
  const sets = new Map([...desired.sets].map(([name, set], s) => {
    const elements = new Map<string, ElementImage>();
    [...set.elements.map].forEach(([key, element], i) => {
      if (pick(i, salt + s, 5)) return;
      if (pick(i, salt + s + 1, 4) && element.verdict) element = { ...element, verdict: { code: element.verdict.code, chain: 'forward' } };
      else if (pick(i, salt + s + 1, 4) && element.value) element = { ...element, value: element.value.map((part, p) => (p === 0 ? another(part) : part)) };
      elements.set(key, element);
    });
    // A foreign element: the first one's key with its last part (a port, a name, an address) changed.
    const first = [...set.elements.map.values()][0];
    if (first && (salt + s) % 2 === 0) {
      const last = first.key.at(-1)!;
      const key = [...first.key.slice(0, -1), typeof last === 'number' ? 65000 - s : another(last)];
      elements.set(`foreign ${s}`, { ...first, key, ...(first.keyEnd ? { keyEnd: key } : {}) });
    }
    // Packed, as the read-back gives it, in another order than the plan's.
    const reordered = new Map([...SetElements.of(set, elements).map].reverse());
    return [name, { ...set, elements: SetElements.packed(set, SetElements.of(set, reordered).packed) }] as const;
  }));
  return { ...desired, sets };
}

test('against a table holding the plan with elements missing, foreign, with another value or verdict: the same changes as the text-keyed comparison, in the same order', (t) => {
  let changed = 0;
  for (const desired of planNftables(buildModel(parseSpec(SPEC)))) {
    for (let salt = 0; salt < 6; salt++) {
      const current = perturbed(desired, salt);
      const tx = new Transaction();
      diffTable(tx, current, desired);
      const where = `${desired.family} ${desired.name}`;
      const expected = [...desired.sets.values()].map((set) =>
        textDiff(where, set, current.sets.get(set.name)!.elements.map, set.elements.map));
      const lines = tx.script.filter((line) => line.includes(' element '));
      t.deepEqual(lines, [...expected.flatMap((diff) => diff.deleted), ...expected.flatMap((diff) => diff.added)], `${where}, salt ${salt}`);
      t.is(tx.changes, tx.counts.elements.added + tx.counts.elements.deleted);
      changed += tx.changes;
    }
    // Against itself, read back: nothing.
    const tx = new Transaction();
    diffTable(tx, perturbedNot(desired), desired);
    t.is(tx.batch.length, 0);
  }
  t.true(changed > 50, `${changed} element changes compared`);
});

/** The plan as the kernel gives it back: packed, in another order. */
function perturbedNot(desired: TableImage): TableImage {
  const sets = new Map([...desired.sets].map(([name, set]) =>
    [name, { ...set, elements: SetElements.packed(set, SetElements.of(set, new Map([...set.elements.map].reverse())).packed) }] as const));
  return { ...desired, sets };
}

async function listTables(ns: TestNetns): Promise<string> {
  return (await ns.run('nft', 'list', 'table', 'ip', 'bridgewall')) + (await ns.run('nft', 'list', 'table', 'ip6', 'bridgewall'));
}

kernelTest('a new Firewall\'s apply onto tables holding the spec with elements missing, foreign, with another value, verdict or range mends exactly those', async (t) => {
  const ns = await createNetns(t, 'nftelem');
  const first = await Firewall.open({ netns: ns.path });
  await first.apply(SPEC);
  first.close();
  const planned = await listTables(ns);
  await ns.run('nft', [
    'delete element ip bridgewall dnat-any-address { tcp . 8080 }',
    'delete element ip bridgewall dnat-by-address { 127.0.0.1 . udp . 5300 }',
    'add element ip bridgewall dnat-by-address { 127.0.0.1 . udp . 5300 : 198.18.1.3 . 53 }',
    'add element ip bridgewall forward-ports { 198.18.1.9 . tcp . 9999 }',
    'delete element ip bridgewall direct-access { 198.18.1.2 }',
    'add element ip bridgewall direct-access { 198.18.1.2 : jump forward-from__br-alpha }',
    'delete element ip bridgewall dnat-any-address-ranges { tcp . 10000-10099 }',
    'add element ip bridgewall dnat-any-address-ranges { tcp . 10000-10049 : 198.18.1.2 }',
    'add element ip6 bridgewall forward-ports { 2001:db8:1::9 . tcp . 9999 }',
  ].join('; '));

  const second = await Firewall.open({ netns: ns.path });
  t.teardown(() => second.close());
  const { text } = await second.dryRun(SPEC);
  t.deepEqual(text.split('\n').filter((line) => line.includes(' element ')), [
    'delete element ip bridgewall direct-access { 198.18.1.2 }',
    'delete element ip bridgewall forward-ports { 198.18.1.9 . tcp . 9999 }',
    'delete element ip bridgewall dnat-by-address { 127.0.0.1 . udp . 5300 }',
    'delete element ip bridgewall dnat-any-address-ranges { tcp . 10000-10049 }',
    'add element ip bridgewall direct-access { 198.18.1.2 : jump direct-access__br-alpha }',
    'add element ip bridgewall dnat-by-address { 127.0.0.1 . udp . 5300 : 198.18.1.2 . 53 }',
    'add element ip bridgewall dnat-any-address { tcp . 8080 : 198.18.1.2 . 80 }',
    'add element ip bridgewall dnat-any-address-ranges { tcp . 10000-10099 : 198.18.1.2 }',
    'delete element ip6 bridgewall forward-ports { 2001:db8:1::9 . tcp . 9999 }',
  ]);
  t.like(await second.apply(SPEC), { commits: 1, changes: 9, counts: { elements: { added: 4, deleted: 5 } } });
  t.is(await listTables(ns), planned);
  const third = await Firewall.open({ netns: ns.path });
  t.teardown(() => third.close());
  t.like(await third.apply(SPEC), { commits: 0, changes: 0 });
});

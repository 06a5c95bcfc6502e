import test from 'ava';
import { kernelTest, createNetns } from './helpers/netns';
import { NftBatch, NftConnection, KeyPacker, match, SET_FLAG, statement, VERDICT, type NftExpr } from '../src/nft';
import { inSet } from '../src/nft/concat';
import { NetfilterError, ValidationError } from '../src/errors';
import { exprCodes, unpackExprs } from '../src/nft/pack';
import { encodeIptnftRules } from '../src/iptnft/encode';
import type { IptRule } from '../src/iptc/rule';
import { binding } from '../src/native/binding';

const T = { family: 'ip', table: 'bw' } as const;

kernelTest('a batch of tables, chains, rules, sets and maps lists in nft as written', async (t) => {
  const ns = await createNetns(t, 'nftlist');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());

  const ports = new KeyPacker(['ipv4_addr', 'inet_service']).add(['198.51.100.1', 8080]).add(['198.51.100.1', 8081]);
  const targets = new KeyPacker(['ipv4_addr', 'inet_service']).add(['192.0.2.2', 80]).add(['192.0.2.3', 80]);
  const bridges = new KeyPacker(['ifname']).add(['br-a']);
  const batch = new NftBatch()
    .addTable({ family: 'ip', name: 'bw' })
    .addChain({ ...T, name: 'forward', hook: 'forward', priority: 0, type: 'filter', policy: 'accept' })
    .addChain({ ...T, name: 'prerouting', hook: 'prerouting', priority: -100, type: 'nat' })
    .addChain({ ...T, name: 'br-a' })
    .addSet({ ...T, name: 'published', key: ['ipv4_addr', 'inet_service'], data: ['ipv4_addr', 'inet_service'], comment: 'published ports' })
    .addSet({ ...T, name: 'bridges', key: ['ifname'], data: 'verdict' })
    .addElements({ ...T, set: 'published', keyLen: ports.length, keys: ports.bytes(), dataLen: 8, data: targets.bytes() })
    .addElements({ ...T, set: 'bridges', keyLen: 16, keys: bridges.bytes(), verdicts: [{ code: VERDICT.jump, chain: 'br-a' }] })
    .addRule({
      ...T, chain: 'forward', comment: 'direct access',
      exprs: [...match.iifname('br-a', { negate: true }), ...match.saddr('192.0.2.0/24'), ...match.dport('tcp', 80), ...statement.counter(), ...statement.drop()],
    })
    .addRule({ ...T, chain: 'forward', exprs: [...match.ctState(['established', 'related']), ...statement.accept()] })
    .addRule({ ...T, chain: 'forward', exprs: [...match.fibDaddrType('local'), ...match.oifname('br-a'), ...match.daddr('192.0.2.2'), ...match.dport('udp', [1000, 2000]), ...statement.jump('br-a')] })
    .addRule({ ...T, chain: 'prerouting', exprs: [...match.dport('tcp', 8080), ...statement.dnat('192.0.2.2', 80)] })
    .addRule({ ...T, chain: 'br-a', exprs: [...match.saddr('192.0.2.0/24', { negate: true }), ...statement.return()] });
  await conn.commit(batch);

  const listed = await ns.run('nft', 'list', 'table', 'ip', 'bw');
  t.is(
    listed,
    `table ip bw {
	map published {
		type ipv4_addr . inet_service : ipv4_addr . inet_service
		comment "published ports"
		elements = { 198.51.100.1 . 8080 : 192.0.2.2 . 80,
			     198.51.100.1 . 8081 : 192.0.2.3 . 80 }
	}

	map bridges {
		type ifname : verdict
		elements = { "br-a" : jump br-a }
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname != "br-a" ip saddr 192.0.2.0/24 tcp dport 80 counter packets 0 bytes 0 drop comment "direct access"
		ct state established,related accept
		fib daddr type local oifname "br-a" ip daddr 192.0.2.2 udp dport 1000-2000 jump br-a
	}

	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 8080 dnat to 192.0.2.2:80
	}

	chain br-a {
		ip saddr != 192.0.2.0/24 return
	}
}
`,
  );
});

kernelTest('rules read back with the expressions that were committed', async (t) => {
  const ns = await createNetns(t, 'nftread');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  const exprs = [...match.iifname('br-a'), ...match.daddr('192.0.2.0/25', { negate: true }), ...match.dport('sctp', 9), ...statement.snat('198.51.100.7')];
  await conn.commit(
    new NftBatch()
      .addTable({ family: 'ip', name: 'bw' })
      .addChain({ ...T, name: 'post', hook: 'postrouting', priority: 100, type: 'nat' })
      .addRule({ ...T, chain: 'post', exprs, comment: 'bridgewall' }),
  );
  const state = await conn.readTable('ip', 'bw');
  t.is(state.table?.name, 'bw');
  t.deepEqual(state.chains.map((c) => [c.name, c.hook, c.priority, c.type]), [['post', 4, 100, 'nat']]);
  t.is(state.rules.length, 1);
  t.is(state.rules[0]!.comment, 'bridgewall');
  const normalise = (list: readonly object[]) => list.map((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v instanceof Uint8Array ? [...v] : v])));
  t.deepEqual(normalise(state.rules[0]!.exprs), normalise(exprs));
});

kernelTest('10,000 map elements and 1,000 rules commit as one batch and read back exactly', async (t) => {
  const ns = await createNetns(t, 'nftbulk');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  const keys = new KeyPacker(['ipv4_addr', 'inet_service'], 10_000);
  const values = new KeyPacker(['ipv4_addr', 'inet_service'], 10_000);
  for (let i = 0; i < 10_000; i++) {
    keys.add([`198.18.${i >> 8}.${i & 255}`, 1024 + i]);
    values.add([`198.19.${i >> 8}.${i & 255}`, 80]);
  }
  const batch = new NftBatch()
    .addTable({ family: 'ip', name: 'bw' })
    .addChain({ ...T, name: 'c' })
    .addSet({ ...T, name: 'm', key: ['ipv4_addr', 'inet_service'], data: ['ipv4_addr', 'inet_service'] })
    .addElements({ ...T, set: 'm', keyLen: 8, keys: keys.bytes(), dataLen: 8, data: values.bytes() });
  for (let i = 0; i < 1_000; i++) batch.addRule({ ...T, chain: 'c', exprs: [...match.dport('tcp', 1 + i), ...statement.accept()] });
  await conn.commit(batch);

  const state = await conn.readTable('ip', 'bw');
  const map = state.sets.find((s) => s.name === 'm')!;
  t.is(map.count, 10_000);
  // The kernel lists hash sets in its own order: compare as sorted pairs.
  const pairs = (k: Uint8Array, v: Uint8Array) =>
    Array.from({ length: k.length / 8 }, (_, i) => Buffer.from(k.subarray(i * 8, i * 8 + 8)).toString('hex') + Buffer.from(v.subarray(i * 8, i * 8 + 8)).toString('hex')).sort();
  t.deepEqual(pairs(map.keys, map.data!), pairs(keys.bytes(), values.bytes()));
  t.is(state.rules.length, 1_000);
  t.is((await ns.run('nft', 'list', 'chain', 'ip', 'bw', 'c')).split('\n').filter((l) => l.includes('accept')).length, 1_000);
});

kernelTest('one invalid object among 10,000 changes nothing and the error names it', async (t) => {
  const ns = await createNetns(t, 'nftatomic');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  await conn.commit(new NftBatch().addTable({ family: 'ip', name: 'keep' }).addChain({ family: 'ip', table: 'keep', name: 'c' }));
  const before = await ns.run('nft', 'list', 'ruleset');

  const batch = new NftBatch().addTable({ family: 'ip', name: 'bw' }).addChain({ ...T, name: 'c' });
  for (let i = 0; i < 10_000; i++) {
    const verdict = i === 5_000 ? statement.jump('missing-chain') : statement.accept();
    batch.addRule({ ...T, chain: 'c', exprs: [...match.dport('tcp', 1 + (i % 60_000)), ...verdict] });
  }
  const error = await t.throwsAsync(conn.commit(batch));
  t.is(error?.name, 'NetfilterError');
  t.like(error, { code: 'ENOENT', operation: 'nft.commit', index: 5_002, object: 'add rule in ip bw c' });
  t.is(await ns.run('nft', 'list', 'ruleset'), before);
});

kernelTest('a commit after a concurrent change of the ruleset fails with ERESTART', async (t) => {
  const ns = await createNetns(t, 'nftgen');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  const { generation } = await conn.readTable('ip', 'bw');
  await ns.run('nft', 'add', 'table', 'ip', 'someone-else');
  const error = await t.throwsAsync(conn.commit(new NftBatch().addTable({ family: 'ip', name: 'bw' }), { generation }));
  t.like(error, { name: 'NetfilterError', code: 'ERESTART', errno: 85, operation: 'nft.commit' });
  t.is((await conn.readTable('ip', 'bw')).table, null);
  // Read again, commit again: now it goes through.
  const fresh = await conn.generation();
  await conn.commit(new NftBatch().addTable({ family: 'ip', name: 'bw' }), { generation: fresh });
  t.is((await conn.readTable('ip', 'bw')).table?.name, 'bw');
});

kernelTest('elements, rules and sets are deleted, flushed and replaced', async (t) => {
  const ns = await createNetns(t, 'nftdel');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  const keys = new KeyPacker(['inet_service']).add([80]).add([443]).add([8080]);
  await conn.commit(
    new NftBatch()
      .addTable({ family: 'ip6', name: 'bw' })
      .addChain({ family: 'ip6', table: 'bw', name: 'c' })
      .addSet({ family: 'ip6', table: 'bw', name: 's', key: ['inet_service'] })
      .addElements({ family: 'ip6', table: 'bw', set: 's', keyLen: 2, keys: keys.bytes() })
      .addRule({ family: 'ip6', table: 'bw', chain: 'c', exprs: [...match.saddr('2001:db8::/32'), ...statement.accept()] }),
  );
  let state = await conn.readTable('ip6', 'bw');
  const handle = state.rules[0]!.handle;
  await conn.commit(
    new NftBatch()
      .deleteElements({ family: 'ip6', table: 'bw', set: 's', keyLen: 2, keys: new KeyPacker(['inet_service']).add([443]).bytes() })
      .replaceRule({ family: 'ip6', table: 'bw', chain: 'c', handle, exprs: [...match.daddr('2001:db8::1'), ...statement.drop()] }),
  );
  t.regex(await ns.run('nft', 'list', 'chain', 'ip6', 'bw', 'c'), /ip6 daddr 2001:db8::1 drop/);
  state = await conn.readTable('ip6', 'bw');
  t.is(state.sets[0]!.count, 2);
  await conn.commit(new NftBatch().flushSet({ family: 'ip6', table: 'bw', name: 's' }).flushChain({ family: 'ip6', table: 'bw', name: 'c' }));
  state = await conn.readTable('ip6', 'bw');
  t.is(state.sets[0]!.count, 0);
  t.is(state.rules.length, 0);
  await conn.commit(new NftBatch().deleteTable({ family: 'ip6', name: 'bw' }));
  t.deepEqual(await conn.listTables(), []);
});

kernelTest('an interval set with a concatenated key holds ranges as nft declares and reads them; closing keys are one per key', async (t) => {
  const ns = await createNetns(t, 'nftivl');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  const key = ['ipv4_addr', 'inet_proto', 'inet_service'] as const;
  const starts = new KeyPacker(key).add(['198.18.1.2', 6, 10000]);
  const ends = new KeyPacker(key).add(['198.18.1.2', 6, 19999]);
  await conn.commit(new NftBatch()
    .addTable({ family: 'ip', name: 'bw' })
    .addSet({ family: 'ip', table: 'bw', name: 'r', key, flags: SET_FLAG.interval })
    .addElements({ family: 'ip', table: 'bw', set: 'r', keyLen: starts.length, keys: starts.bytes(), keyEnds: ends.bytes() }));
  t.regex(await ns.run('nft', 'list', 'set', 'ip', 'bw', 'r'), /flags interval\n\s*elements = \{ 198\.18\.1\.2 \. tcp \. 10000-19999 \}/);
  const [set] = (await conn.readTable('ip', 'bw')).sets;
  t.is(set!.flags, SET_FLAG.interval | SET_FLAG.concat);
  t.deepEqual([...set!.keyEnds!], [...ends.bytes()]);
  t.throws(() => new NftBatch().addElements({ family: 'ip', table: 'bw', set: 'r', keyLen: starts.length, keys: starts.bytes(), keyEnds: new Uint8Array(4) }),
    { instanceOf: ValidationError, message: /keyEnds/ });
});

kernelTest('a set declared with a counter counts per element, read back; adding an element again keeps its counter', async (t) => {
  const ns = await createNetns(t, 'nftcnt');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  const keys = (...ports: number[]) => {
    const packer = new KeyPacker(['ipv4_addr', 'inet_service']);
    for (const port of ports) packer.add(['127.0.0.2', port]);
    return { keyLen: packer.length, keys: packer.bytes() };
  };
  await conn.commit(new NftBatch()
    .addTable({ family: 'ip', name: 'bw' })
    .addChain({ ...T, name: 'output', hook: 'output', priority: 0, type: 'filter', policy: 'accept' })
    .addSet({ ...T, name: 'counted', key: ['ipv4_addr', 'inet_service'], counter: true })
    .addElements({ ...T, set: 'counted', ...keys(9, 10) })
    .addRule({ ...T, chain: 'output', exprs: [...match.l4proto('udp'), ...inSet(['ip daddr', 'th dport'], 'counted')] }));
  // Three datagrams of 1 byte (29 with the IPv4 and UDP headers) to port 9, none to 10.
  const send = "const s = require('dgram').createSocket('udp4'); let n = 0; const next = () => (n++ < 3 ? s.send('x', 9, '127.0.0.2', next) : s.close()); next();";
  await ns.run(process.execPath, '-e', send);
  const set = (await conn.readTable('ip', 'bw')).sets.find((s) => s.name === 'counted')!;
  t.like(set, { counter: true, count: 2 });
  const counters = [0, 1, 2, 3].map((i) => set.counters!.readBigUInt64BE(i * 8));
  t.deepEqual(counters.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), [0n, 0n, 3n, 87n], 'one element counted 3 packets of 29 bytes, the other nothing');
  t.regex(await ns.run('nft', 'list', 'set', 'ip', 'bw', 'counted'), /\tcounter\n[\s\S]*127\.0\.0\.2 \. 9 counter packets 3 bytes 87/);

  // Added again (not created): the kernel keeps the element it has, counter and all; a new one starts at zero.
  await conn.commit(new NftBatch().addElements({ ...T, set: 'counted', ...keys(9, 11) }));
  const listed = await ns.run('nft', 'list', 'set', 'ip', 'bw', 'counted');
  t.regex(listed, /127\.0\.0\.2 \. 9 counter packets 3 bytes 87/);
  t.regex(listed, /127\.0\.0\.2 \. 11 counter packets 0 bytes 0/);
});

test('a rule expression that is no expression the addon knows, or holds a value not of its attribute\'s kind, is refused as the batch is built', (t) => {
  const rule = (exprs: unknown[]) => () => new NftBatch().addRule({ ...T, chain: 'c', exprs: exprs as NftExpr[] });
  t.throws(rule([{ type: 'counter', bogus: 1 }]), { instanceOf: ValidationError, message: /Expected an attribute of counter: packets, bytes for exprs\[0\]\.bogus but received "bogus"/ });
  t.throws(rule([...statement.accept(), { type: 'nosuch' }]), { instanceOf: ValidationError, message: /for exprs\[1\]\.type but received "nosuch"/ });
  t.throws(rule([{ type: 'cmp', sreg: '1', op: 0, data: Uint8Array.of(1) }]), { instanceOf: ValidationError, message: /Expected an integer from 0 to 4294967295 for exprs\[0\]\.sreg but received "1"/ });
  t.throws(rule([{ type: 'immediate', dreg: 0, verdict: 2 ** 31 }]), { instanceOf: ValidationError, message: /for exprs\[0\]\.verdict/ });
  t.throws(rule([{ type: 'counter', packets: 2n ** 64n }]), { instanceOf: ValidationError, message: /for exprs\[0\]\.packets/ });
  t.throws(rule([{ type: 'lookup', set: 'a\0b', sreg: 1 }]), { instanceOf: ValidationError, message: /for exprs\[0\]\.set/ });
  t.throws(rule([{ type: 'cmp', sreg: 1, op: 0, data: [1] }]), { instanceOf: ValidationError, message: /for exprs\[0\]\.data/ });
  t.throws(rule([null]), { instanceOf: ValidationError, message: /for exprs\[0\] but/ });
});

kernelTest('cmp data longer than a data register is refused by the addon with EINVAL, naming the expression, and nothing is committed', async (t) => {
  const ns = await createNetns(t, 'nftlong');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  const batch = new NftBatch().addTable({ family: 'ip', name: 'bw' }).addChain({ ...T, name: 'c' })
    .addRule({ ...T, chain: 'c', exprs: [{ type: 'cmp', sreg: 1, op: 0, data: new Uint8Array(65) }] });
  const error = await t.throwsAsync(conn.commit(batch), { instanceOf: NetfilterError });
  t.like(error, { code: 'EINVAL', operation: 'nft.commit', index: 2, object: 'add rule in ip bw c' });
  t.regex(error!.message, /exprs\[0\]\.data must be at most 64 bytes/);
  t.deepEqual(await conn.listTables(), []);
});

kernelTest('a commit resolves to the handle the kernel gave each rule it added, by message index, across tables and runs', async (t) => {
  const ns = await createNetns(t, 'nfthandles');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  const U = { family: 'ip6', table: 'bw' } as const;
  const rule = (ref: typeof T | typeof U, chain: string, comment: string) => ({ ...ref, chain, comment, exprs: statement.accept() });
  await conn.commit(new NftBatch().addTable({ family: 'ip', name: 'bw' }).addChain({ ...T, name: 'c' }).addRule(rule(T, 'c', 'old')));
  const old = (await conn.readTable('ip', 'bw')).rules[0]!.handle;
  const batch = new NftBatch()
    .addRule(rule(T, 'c', 'a1'))
    .addTable({ family: 'ip6', name: 'bw' })
    .addChain({ ...U, name: 'c' })
    .insertRule(rule(T, 'c', 'a2'))
    .addRule(rule(U, 'c', 'b1'))
    .addRule({ ...rule(T, 'c', 'a3'), position: old })
    .addChain({ ...T, name: 'd' })
    .addRule(rule(T, 'd', 'a4'))
    .replaceRule({ ...rule(T, 'c', 'old2'), handle: old })
    .addRule(rule(U, 'c', 'b2'));
  const { ruleHandles } = await conn.commit(batch);
  const comments = ['a1', undefined, undefined, 'a2', 'b1', 'a3', undefined, 'a4', undefined, 'b2'];
  const read = new Map([...(await conn.readTable('ip', 'bw')).rules, ...(await conn.readTable('ip6', 'bw')).rules].map((r) => [r.comment, r.handle]));
  t.deepEqual(ruleHandles, comments.map((comment) => comment && read.get(comment)));
  t.is(ruleHandles.filter((handle) => handle !== undefined).length, 6);
  t.deepEqual((await conn.commit(new NftBatch().deleteRule({ ...T, chain: 'd', handle: ruleHandles[7]! }))).ruleHandles, [undefined]);
  t.deepEqual((await conn.commit(new NftBatch())).ruleHandles, []);
});

test('expressions packed read back, by unpackExprs, as the objects they were packed from', (t) => {
  const exprs: NftExpr[] = [
    ...match.iifname('br-a', { negate: true }), ...match.saddr('192.0.2.0/23'), ...match.dport('tcp', 80),
    { type: 'counter', packets: 7n, bytes: 2n ** 40n }, ...statement.jump('br-a'), { type: 'match', name: 'comment', rev: 0, info: new Uint8Array(8) },
  ];
  const packed = new NftBatch().addRule({ ...T, chain: 'c', exprs }).messages[0] as { rules: Uint8Array };
  // After op, family, table, chain and fields comes the expressions' count.
  const at = 2 + 1 + T.table.length + 1 + 1 + 1;
  const unpacked = unpackExprs(packed.rules, at);
  t.deepEqual(unpacked.map((e) => ({ ...e })), exprs.map((e) => Object.fromEntries(Object.entries(e).map(([name, value]) => [
    name, value instanceof Uint8Array ? new Uint8Array(value) : e.type === 'counter' && name !== 'type' ? BigInt(value as bigint) : value,
  ]))));
});

test('a rule\'s body packed by an encoder is the same message as the rule given as expressions and compat', (t) => {
  const rules: IptRule[] = [
    { protocol: 'tcp', inInterface: 'br-a', inInterfaceNegated: true, destination: '198.51.100.1', matches: [{ name: 'tcp', destinationPort: [80, 88] }], target: { name: 'DNAT', toAddress: '192.0.2.2', toPort: 80 } },
    { protocol: 'udp', protocolNegated: true, source: '192.0.2.0/23', outInterface: 'br+', target: { name: 'jump', chain: 'DOCKER' } },
  ];
  const bodies = encodeIptnftRules('ipv4', 'nat', rules);
  const packed = new NftBatch();
  const given = new NftBatch();
  rules.forEach((rule, index) => {
    packed.addRule({ ...T, chain: 'c', bodies, index, position: 9 });
    given.addRule({
      ...T, chain: 'c', position: 9, exprs: unpackExprs(bodies.bytes, bodies.offsets[index]!),
      compat: { protocol: rule.protocol === 'tcp' ? 6 : 17, negated: rule.protocolNegated === true },
    });
  });
  t.deepEqual(packed.messages, given.messages);
});

test('an encoder packing an attribute as another kind than the addon\'s is refused when its codes are resolved', (t) => {
  t.is(exprCodes('cmp', { sreg: 'u32', data: 'bytes' }).type, binding.nftExprLayout.types.indexOf('cmp'));
  t.throws(() => exprCodes('cmp', { data: 'u32' }), { message: 'the addon packs cmp.data as bytes, not u32' });
  t.throws(() => exprCodes('nosuch', { data: 'u32' }), { message: 'the addon packs no expression nosuch' });
});

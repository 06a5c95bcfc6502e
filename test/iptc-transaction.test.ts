/**
 * Transaction semantics: every operation kind, failures naming the failing
 * operation by index with a stable code, and atomicity (a failed transaction
 * changes nothing).
 */
import { NetfilterError, ValidationError, type NetfilterErrorCode } from '../src/errors';
import type { IptcOperation } from '../src/iptc/operation';
import type { IptRule } from '../src/iptc/rule';
import { IptcTable, type IptcTableChange } from '../src/iptc/table';
import { createNetns, kernelTest, normaliseSave, type TestNetns } from './helpers/netns';
import type { ExecutionContext } from 'ava';

async function openIn(t: ExecutionContext, label: string): Promise<{ netns: TestNetns; table: IptcTable }> {
  const netns = await createNetns(t, label);
  const table = await IptcTable.open({ netns: netns.path });
  t.teardown(() => table.close());
  return { netns, table };
}

const accept = (port: number): IptRule => ({
  protocol: 'tcp',
  matches: [{ name: 'tcp', destinationPort: port }],
  target: { name: 'ACCEPT' },
});

async function ports(table: IptcTable, chain: string): Promise<unknown[]> {
  const chains = await table.read('ipv4', 'filter');
  const found = chains.find((c) => c.name === chain);
  return found ? found.rules.map((entry) => (entry.rule?.matches?.[0] as { destinationPort?: number }).destinationPort) : [];
}

kernelTest('insert, replace, deleteAt and deleteRule edit rules by 0-based position or by content', async (t) => {
  const { table } = await openIn(t, 'ops');
  await table.transaction('ipv4', 'filter', [
    { op: 'newChain', chain: 'TEST' },
    { op: 'append', chain: 'TEST', rule: accept(2) },
    { op: 'append', chain: 'TEST', rule: accept(3) },
    { op: 'insert', chain: 'TEST', index: 0, rule: accept(1) },
    { op: 'insert', chain: 'TEST', index: 3, rule: accept(4) },
  ]);
  t.deepEqual(await ports(table, 'TEST'), [1, 2, 3, 4]);
  await table.transaction('ipv4', 'filter', [
    { op: 'replace', chain: 'TEST', index: 1, rule: accept(10) },
    { op: 'deleteAt', chain: 'TEST', index: 0 },
    { op: 'deleteRule', chain: 'TEST', rule: accept(3) },
  ]);
  t.deepEqual(await ports(table, 'TEST'), [10, 4]);
  await table.transaction('ipv4', 'filter', [
    { op: 'flushChain', chain: 'TEST' },
    { op: 'deleteChain', chain: 'TEST' },
    { op: 'setPolicy', chain: 'FORWARD', policy: 'DROP' },
  ]);
  const chains = await table.read('ipv4', 'filter');
  t.deepEqual(
    chains.map((c) => [c.name, c.policy, c.builtin]),
    [
      ['INPUT', 'ACCEPT', true],
      ['FORWARD', 'DROP', true],
      ['OUTPUT', 'ACCEPT', true],
    ],
  );
});

kernelTest('an empty transaction commits nothing and succeeds', async (t) => {
  const { table } = await openIn(t, 'empty');
  await t.notThrowsAsync(table.transaction('ipv6', 'nat', []));
});

interface FailureCase {
  title: string;
  setup?: IptcOperation[];
  operations: IptcOperation[];
  code: NetfilterErrorCode;
  operation: string;
  index?: number;
}

const FAILURES: FailureCase[] = [
  {
    title: 'appending to a missing chain',
    operations: [{ op: 'newChain', chain: 'A' }, { op: 'append', chain: 'MISSING', rule: accept(1) }],
    code: 'ENOENT',
    operation: 'iptc.append',
    index: 1,
  },
  {
    title: 'jumping to a missing chain',
    operations: [
      { op: 'newChain', chain: 'A' },
      { op: 'append', chain: 'A', rule: accept(1) },
      { op: 'append', chain: 'FORWARD', rule: { target: { name: 'jump', chain: 'MISSING' } } },
    ],
    code: 'ENOENT',
    operation: 'iptc.append',
    index: 2,
  },
  {
    title: 'deleting a chain a rule still jumps to',
    setup: [
      { op: 'newChain', chain: 'USED' },
      { op: 'append', chain: 'FORWARD', rule: { target: { name: 'jump', chain: 'USED' } } },
    ],
    operations: [{ op: 'deleteChain', chain: 'USED' }],
    code: 'EBUSY',
    operation: 'iptc.deleteChain',
    index: 0,
  },
  {
    title: 'deleting a chain that still has rules',
    setup: [{ op: 'newChain', chain: 'FULL' }, { op: 'append', chain: 'FULL', rule: accept(1) }],
    operations: [{ op: 'flushChain', chain: 'FORWARD' }, { op: 'deleteChain', chain: 'FULL' }],
    code: 'ENOTEMPTY',
    operation: 'iptc.deleteChain',
    index: 1,
  },
  {
    title: 'creating a chain that exists',
    operations: [{ op: 'newChain', chain: 'TWICE' }, { op: 'newChain', chain: 'TWICE' }],
    code: 'EEXIST',
    operation: 'iptc.newChain',
    index: 1,
  },
  {
    title: 'deleting a rule position past the end',
    operations: [{ op: 'deleteAt', chain: 'INPUT', index: 0 }],
    code: 'E2BIG',
    operation: 'iptc.deleteAt',
    index: 0,
  },
  {
    title: 'deleting a rule that does not exist',
    operations: [{ op: 'deleteRule', chain: 'INPUT', rule: accept(1) }],
    code: 'ENOENT',
    operation: 'iptc.deleteRule',
    index: 0,
  },
  {
    title: 'setting a policy on a user chain',
    operations: [{ op: 'newChain', chain: 'USER' }, { op: 'setPolicy', chain: 'USER', policy: 'DROP' }],
    code: 'ENOENT',
    operation: 'iptc.setPolicy',
    index: 1,
  },
];

for (const failure of FAILURES) {
  kernelTest(`${failure.title} fails with ${failure.code} at index ${failure.index} and changes nothing`, async (t) => {
    const { netns, table } = await openIn(t, 'fail');
    await table.transaction('ipv4', 'filter', [
      ...(failure.setup ?? []),
      { op: 'append', chain: 'INPUT', rule: { inInterface: 'lo', target: { name: 'ACCEPT' } } },
    ]);
    if (failure.operations.some((op) => op.op === 'deleteAt' || op.op === 'deleteRule')) {
      await table.transaction('ipv4', 'filter', [{ op: 'flushChain', chain: 'INPUT' }]);
    }
    const before = normaliseSave(await netns.run('iptables-legacy-save', '-t', 'filter'));

    const error = await t.throwsAsync(table.transaction('ipv4', 'filter', failure.operations), {
      instanceOf: NetfilterError,
    });
    t.is(error.code, failure.code);
    t.is(error.operation, failure.operation);
    t.is(error.index, failure.index);
    t.true(error.object?.startsWith(`operations[${failure.index}]: `), error.object);
    t.regex(error.stack ?? '', /iptc-transaction\.test/, 'the stack is the caller’s');

    t.is(normaliseSave(await netns.run('iptables-legacy-save', '-t', 'filter')), before);
  });
}

kernelTest('a rule the kernel rejects fails the commit, without an index', async (t) => {
  const { table } = await openIn(t, 'commit');
  // DNAT is only valid where the destination is still to be routed.
  const error = await t.throwsAsync(
    table.transaction('ipv4', 'nat', [
      { op: 'append', chain: 'POSTROUTING', rule: { target: { name: 'DNAT', toAddress: '10.0.0.1' } } },
    ]),
    { instanceOf: NetfilterError },
  );
  t.is(error.code, 'EINVAL');
  t.is(error.operation, 'iptc.commit');
  t.is(error.index, undefined);
});

kernelTest('a namespace path that does not exist fails with ENOENT', async (t) => {
  const error = await t.throwsAsync(IptcTable.open({ netns: '/run/netns/bridgewall-no-such-namespace' }), {
    instanceOf: NetfilterError,
  });
  t.is(error.code, 'ENOENT');
  t.is(error.operation, 'netns.open');
});

kernelTest('a path that is no network namespace fails with EINVAL', async (t) => {
  const error = await t.throwsAsync(IptcTable.open({ netns: '/proc/self/status' }), { instanceOf: NetfilterError });
  t.is(error.code, 'EINVAL');
  t.is(error.operation, 'netns.open');
});

kernelTest('concurrent transactions on one table all land (none overwrites another)', async (t) => {
  const { table } = await openIn(t, 'concurrent');
  await table.transaction('ipv4', 'filter', [{ op: 'newChain', chain: 'MANY' }]);
  const count = 40;
  await Promise.all(
    Array.from({ length: count }, (_, i) => table.transaction('ipv4', 'filter', [{ op: 'append', chain: 'MANY', rule: accept(i + 1) }])),
  );
  const written = (await ports(table, 'MANY')) as number[];
  t.deepEqual(
    [...written].sort((a, b) => a - b),
    Array.from({ length: count }, (_, i) => i + 1),
  );
});

const INVALID: { title: string; operations: unknown; field: string }[] = [
  {
    title: 'a chain name over 28 bytes',
    operations: [{ op: 'newChain', chain: 'X'.repeat(29) }],
    field: 'operations[0].chain',
  },
  {
    title: 'an interface name over 15 bytes',
    operations: [{ op: 'append', chain: 'INPUT', rule: { inInterface: 'a'.repeat(16), target: { name: 'ACCEPT' } } }],
    field: 'operations[0].rule.inInterface',
  },
  {
    title: 'an interface name with a slash',
    operations: [{ op: 'append', chain: 'INPUT', rule: { outInterface: 'br/0', target: { name: 'ACCEPT' } } }],
    field: 'operations[0].rule.outInterface',
  },
  {
    title: 'port 0',
    operations: [{ op: 'append', chain: 'INPUT', rule: { protocol: 'tcp', matches: [{ name: 'tcp', destinationPort: 0 }], target: { name: 'ACCEPT' } } }],
    field: 'operations[0].rule.matches[0].destinationPort',
  },
  {
    title: 'a reversed port range',
    operations: [{ op: 'append', chain: 'INPUT', rule: { protocol: 'udp', matches: [{ name: 'udp', sourcePort: [20, 10] }], target: { name: 'ACCEPT' } } }],
    field: 'operations[0].rule.matches[0].sourcePort',
  },
  {
    title: 'a tcp match without -p tcp',
    operations: [{ op: 'append', chain: 'INPUT', rule: { matches: [{ name: 'tcp', destinationPort: 80 }], target: { name: 'ACCEPT' } } }],
    field: 'operations[0].rule.protocol',
  },
  {
    title: 'an IPv6 address in an IPv4 rule',
    operations: [{ op: 'append', chain: 'INPUT', rule: { source: 'fd00::/8', target: { name: 'ACCEPT' } } }],
    field: 'operations[0].rule.source',
  },
  {
    title: 'a prefix with host bits',
    operations: [{ op: 'append', chain: 'INPUT', rule: { source: '192.168.0.1/24', target: { name: 'ACCEPT' } } }],
    field: 'operations[0].rule.source',
  },
  {
    title: 'a NAT target outside the nat table',
    operations: [{ op: 'append', chain: 'INPUT', rule: { target: { name: 'MASQUERADE' } } }],
    field: 'operations[0].rule.target.name',
  },
  {
    title: 'an unknown operation',
    operations: [{ op: 'rename', chain: 'INPUT' }],
    field: 'operations[0].op',
  },
];

for (const { title, operations, field } of INVALID) {
  kernelTest(`${title} is rejected before reaching the kernel`, async (t) => {
    const { table } = await openIn(t, 'invalid');
    const error = await t.throwsAsync(table.transaction('ipv4', 'filter', operations as IptcOperation[]), {
      instanceOf: ValidationError,
    });
    t.is(error.field, field);
    t.regex(error.message, /Expected .+ for .+ but received /);
  });
}

/** IPv6 nat made the largest change, refused by the kernel at commit (DNAT is not for POSTROUTING). */
function refusedLast(): IptcTableChange {
  const filler = Array.from({ length: 80 }, (_, i): IptcOperation => ({ op: 'append', chain: 'BIG', rule: accept(1000 + i) }));
  return { family: 'ipv6', table: 'nat', operations: [{ op: 'newChain', chain: 'BIG' }, ...filler,
    { op: 'append', chain: 'POSTROUTING', rule: { target: { name: 'DNAT', toAddress: '2001:db8::9' } } }] };
}

/** Commits `changes`, which refusedLast() fails, and checks that IPv4 filter reads as `before` again. */
async function assertPutBack(t: ExecutionContext, table: IptcTable, changes: IptcTableChange[], save: () => Promise<string>, before: string): Promise<void> {
  const error = await t.throwsAsync(table.commit(changes), { instanceOf: NetfilterError });
  t.is(error.operation, 'iptc.commit');
  t.is(error.code, 'EINVAL');
  t.regex(error.message, /cannot commit ipv6 table nat/);
  t.notRegex(error.message, /putting back/);
  t.is(await save(), before);
}

kernelTest('a table the kernel refuses at commit puts back the tables committed before it, rules and counters', async (t) => {
  const { netns, table } = await openIn(t, 'putback');
  await netns.run('iptables-legacy', '-w', '-A', 'INPUT', '-c', '5', '300', '-s', '192.0.2.1/32', '-j', 'ACCEPT');
  await table.read('ipv6', 'nat');
  const save = async () => (await netns.run('iptables-legacy-save', '-c', '-t', 'filter')).replace(/^#.*\n/gm, '');
  const before = await save();
  t.regex(before, /\[5:300\] -A INPUT -s 192\.0\.2\.1\/32 -j ACCEPT/);
  await assertPutBack(t, table, [
    { family: 'ipv4', table: 'filter', operations: [{ op: 'newChain', chain: 'NEW' }, { op: 'flushChain', chain: 'INPUT' }] },
    refusedLast(),
  ], save, before);
});

/** Loads `rules` (iptables-save lines with counters) into IPv4 filter, for the put-back tests below. */
async function restoreFilter(netns: TestNetns, rules: readonly string[]): Promise<() => Promise<string>> {
  const script = ['*filter', ...rules, 'COMMIT', ''].join('\n');
  await netns.run('sh', '-c', `printf '%s' '${script}' | iptables-legacy-restore -w -c`);
  return async () => (await netns.run('iptables-legacy-save', '-c', '-t', 'filter')).replace(/^#.*\n/gm, '');
}

kernelTest('a refused commit undoes every kind of operation on the tables committed before it, jumps, policies and counters', async (t) => {
  const { netns, table } = await openIn(t, 'undo');
  const save = await restoreFilter(netns, [
    ':INPUT ACCEPT [0:0]', ':FORWARD DROP [7:700]', ':OUTPUT ACCEPT [0:0]', ':KEEP - [0:0]', ':GONE - [0:0]', ':EMPTY - [0:0]',
    '[5:300] -A INPUT -s 192.0.2.1/32 -j ACCEPT',
    '[6:360] -A INPUT -s 192.0.2.2/32 -j KEEP',
    '[8:480] -A INPUT -p tcp -m tcp --dport 22 -j DROP',
    '[9:540] -A KEEP -s 192.0.2.3/32 -j RETURN',
    '[10:600] -A KEEP -s 192.0.2.4/32 -g GONE',
    '[11:660] -A GONE -j ACCEPT',
    // Rules enough that the undo log stays cheaper than the table's image.
    ...Array.from({ length: 30 }, (_, i) => `[${i}:${i * 60}] -A OUTPUT -d 198.51.100.${i + 1}/32 -j ACCEPT`),
  ]);
  await table.read('ipv6', 'nat');
  const before = await save();
  t.regex(before, /\[6:360\] -A INPUT -s 192\.0\.2\.2\/32 -j KEEP/);
  await assertPutBack(t, table, [
    { family: 'ipv4', table: 'filter', operations: [
      { op: 'newChain', chain: 'NEW' },
      { op: 'append', chain: 'NEW', rule: accept(2000) },
      { op: 'append', chain: 'INPUT', rule: { target: { name: 'jump', chain: 'NEW' } } },
      { op: 'insert', chain: 'INPUT', index: 0, rule: accept(2001) },
      { op: 'replace', chain: 'INPUT', index: 1, rule: accept(2002) },
      { op: 'deleteAt', chain: 'INPUT', index: 2 },
      { op: 'flushChain', chain: 'KEEP' },
      { op: 'deleteRule', chain: 'GONE', rule: { target: { name: 'ACCEPT' } } },
      { op: 'deleteChain', chain: 'GONE' },
      { op: 'deleteChain', chain: 'EMPTY' },
      { op: 'setPolicy', chain: 'FORWARD', policy: 'ACCEPT' },
      { op: 'deleteAt', chain: 'OUTPUT', index: 3 },
    ] },
    refusedLast(),
  ], save, before);
});

kernelTest('a refused commit puts back from the kernel\'s image a table whose undo would cost more than reading it', async (t) => {
  const { netns, table } = await openIn(t, 'image');
  const save = await restoreFilter(netns, [
    ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
    ...Array.from({ length: 4 }, (_, i) => `[${i + 1}:${(i + 1) * 60}] -A INPUT -s 192.0.2.${i + 1}/32 -j ACCEPT`),
  ]);
  await table.read('ipv6', 'nat');
  const before = await save();
  // Each deletion walks its chain to the rule: 20 times 4 rules walked, more than 16 times the table's 4.
  const churn = Array.from({ length: 20 }, (_, i): IptcOperation[] =>
    [{ op: 'deleteAt', chain: 'INPUT', index: 3 }, { op: 'insert', chain: 'INPUT', index: 3, rule: accept(3000 + i) }]).flat();
  await assertPutBack(t, table, [{ family: 'ipv4', table: 'filter', operations: churn }, refusedLast()], save, before);
});

kernelTest('of tables that fail at once, the first in the transaction names the failure, and nothing is committed', async (t) => {
  const { netns, table } = await openIn(t, 'first');
  const { fingerprint: stale } = await table.readWithFingerprint('ipv4', 'filter');
  await table.read('ipv6', 'filter');
  await netns.run('iptables-legacy', '-w', '-N', 'SOMEONE-ELSE');
  const before = normaliseSave(await netns.run('sh', '-c', 'iptables-legacy-save; ip6tables-legacy-save'));
  const staleFilter: IptcTableChange = { family: 'ipv4', table: 'filter', operations: [{ op: 'newChain', chain: 'OURS' }], fingerprint: stale };
  const failing: IptcTableChange = { family: 'ipv6', table: 'filter', operations: [{ op: 'deleteAt', chain: 'INPUT', index: 0 }] };
  const restart = await t.throwsAsync(table.commit([staleFilter, failing]), { instanceOf: NetfilterError });
  t.is(restart.code, 'ERESTART');
  const named = await t.throwsAsync(table.commit([failing, staleFilter]), { instanceOf: NetfilterError });
  t.is(named.code, 'E2BIG');
  t.is(named.index, 0);
  t.is(normaliseSave(await netns.run('sh', '-c', 'iptables-legacy-save; ip6tables-legacy-save')), before);
});

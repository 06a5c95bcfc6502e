/**
 * Fuzzes the native encoders through the addon's private binding, below all
 * TypeScript validation: thousands of random and hostile nftables batches,
 * libiptc transactions, dumps, xt extension builds and decodes (the
 * iptables-nft reader's nft_compat infos), namespace paths and
 * identities, sysctl writes, bridge names and conntrack filters
 * (test/helpers/native-hostile.ts). Each input must succeed or fail
 * with a NetfilterError or ValidationError carrying a named code: never a
 * crash, an abort, a hang or an error of another kind. After a sample of the
 * failures, the namespace's ruleset must be what it was before the input.
 *
 * Inputs come from one seed (BRIDGEWALL_FUZZ_SEED, default below); a failure
 * prints it with the input, and the same seed replays the same run. Every
 * EPOCH inputs start over in a fresh namespace, so successes cannot pile up.
 * `npm run test:asan` runs this file against the AddressSanitizer build.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { callNative, callNativeSync, NetfilterError, ValidationError } from '../src/errors.js';
import type { Family } from '../src/family.js';
import { encodeOperations } from '../src/iptc/encode.js';
import { decodeDump, decodeExtensionRecords } from '../src/iptc/decode.js';
import { binding } from '../src/native/binding.js';
import { MATCH_CODE, type NativeIptcTable, type NativeTableChange, OP_CODE, PORT_FIELD, RULE_FIELD, TARGET_CODE } from '../src/native/iptc.js';
import { PackedWriter } from '../src/native/packed-writer.js';
import type { NativeBatchMessage, NativeNftConnection } from '../src/native/nft.js';
import { KeyPacker, NftBatch, statement, match, type NftExpr } from '../src/nft/index.js';
import {
  bridgeInput, conntrackInput, Dice, hostilePath, IPT_DUMPS, type IptcChange, iptcInput, NFT_FAMILIES, NFT_TABLES, type NftInput, nftInput, sysctlInput,
  xtDecodeInput, xtExtensionsInput, type XtItemInput, XT_NAMES,
  xtExtensionsOf,
} from './helpers/native-hostile.js';
import { createNetns, kernelTest, type TestNetns } from './helpers/netns.js';
import { random } from './reliability/hostile.js';

const SEED = Number(process.env.BRIDGEWALL_FUZZ_SEED ?? 0x6a7e5eed) >>> 0;
const NFT_INPUTS = 3_000;
const IPTC_INPUTS = 1_500;
const HOST_INPUTS = 300;
const XT_INPUTS = 1_500;
const XT_DECODE_INPUTS = 3_000;
/** Inputs per namespace. */
const EPOCH = 500;
/** Share of the inputs whose ruleset is compared before and after, when they fail. */
const SAMPLE = 0.1;
/** A native call that has not settled by then is hung. */
const CALL_TIMEOUT_MS = 10_000;

/** A stream of its own for input `i`, so one input's draws do not shift the others'. */
function diceFor(stream: number, i: number): Dice {
  return new Dice(random((SEED ^ Math.imul(stream, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0));
}

/** The input as text for the failure message: bytes, bigints and symbols spelled out, long strings cut. */
function show(input: unknown): string {
  const text = JSON.stringify(input, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return value.length <= 256 ? `<hex ${Buffer.from(value).toString('hex')}>` : `<${value.length} bytes>`;
    if (typeof value === 'bigint') return `${value}n`;
    if (typeof value === 'symbol' || value === undefined) return String(value);
    if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
    if (typeof value === 'string' && value.length > 40) return `${JSON.stringify(value.slice(0, 20))}… (${value.length} chars)`;
    return value;
  });
  return text.length > 4_000 ? `${text.slice(0, 4_000)}…` : text;
}

/** Where a failure points: the seed that replays the run and the input. */
function where(label: string, i: number, input: unknown): string {
  return `${label} input ${i} (BRIDGEWALL_FUZZ_SEED=${SEED} replays it): ${show(input)}`;
}

type Outcome = { ok: true } | { ok: false; error: unknown };

/** Runs one native call as the library does (callNative), bounded in time. */
async function settle(call: () => Promise<unknown>): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: the native call did not settle within ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
  });
  try {
    await Promise.race([callNative(call), hung]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * True when `error` is one the library may raise: a ValidationError, or a
 * NetfilterError with a named code, or UNKNOWN with the errno the kernel gave
 * (an errno outside the library's table; UNKNOWN without one would be some
 * other exception caught on a worker).
 */
function typedError(error: unknown): boolean {
  if (error instanceof ValidationError) return true;
  if (!(error instanceof NetfilterError) || error.operation.length === 0 || error.message.length === 0) return false;
  return error.code === 'UNKNOWN' ? error.errno > 0 : /^E[A-Z0-9]+$/.test(error.code);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name} ${(error as { code?: string }).code ?? ''}: ${error.message.slice(0, 300)}`;
  return String(error);
}

/** Tallies of outcomes per label, for the log. */
class Tally {
  private readonly counts = new Map<string, number>();

  add(label: string, outcome: Outcome): void {
    const error = outcome.ok ? undefined : (outcome.error as NetfilterError);
    const code = error?.code === 'UNKNOWN' ? `errno ${error.errno}` : error?.code;
    const key = error === undefined ? `${label} ok` : `${label} ${code} (${error.operation})`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  toString(): string {
    return [...this.counts].sort().map(([key, count]) => `${key}: ${count}`).join(', ');
  }
}

/** One epoch's handles on its namespace. */
interface Session<Input> {
  input: (d: Dice) => Input;
  run: (input: Input) => Promise<unknown>;
  /** What must not change when an input fails. */
  ruleset: () => Promise<string>;
  close: () => void;
}

/** A read with hostile arguments: family and table. */
type Dump = { dump: readonly [unknown, unknown] };

/**
 * Runs `count` inputs in epochs of EPOCH, each in a fresh namespace that
 * `epoch` prepares. Stops at the first finding, which fails the test.
 */
async function fuzz<Input>(
  t: ExecutionContext,
  label: string,
  count: number,
  epoch: (ns: TestNetns) => Promise<Session<Input>>,
  stream: number,
  tally: Tally,
): Promise<boolean> {
  let compared = 0;
  for (let first = 0; first < count; first += EPOCH) {
    const ns = await createNetns(t, 'fuzz');
    const session = await epoch(ns);
    try {
      for (let i = first; i < Math.min(count, first + EPOCH); i++) {
        const d = diceFor(stream, i);
        const input = session.input(d);
        const before = d.chance(SAMPLE) ? await session.ruleset() : undefined;
        const outcome = await settle(() => session.run(input));
        if (!outcome.ok && !typedError(outcome.error)) {
          t.fail(`${where(label, i, input)}\nfailed with ${describeError(outcome.error)}`);
          return false;
        }
        tally.add(label, outcome);
        if (!outcome.ok && before !== undefined) {
          compared++;
          if ((await session.ruleset()) !== before) {
            t.fail(`${where(label, i, input)}\nfailed (${describeError(outcome.error)}) but changed the ruleset`);
            return false;
          }
        }
      }
    } finally {
      session.close();
    }
  }
  t.log(`${label}: ${count} inputs, the ruleset compared after ${compared} failures`);
  return true;
}

/** Tables, chains, sets and maps for inputs to hit, in each family. */
function nftBaseline(): NftBatch {
  const batch = new NftBatch();
  const families = ['ip', 'ip6', 'inet'] as const;
  families.forEach((family, i) => {
    const T = { family, table: NFT_TABLES[i]! };
    const ports = new KeyPacker(['inet_service']).add([80]).add([443]);
    batch
      .addTable({ family, name: T.table })
      .addChain({ ...T, name: 'in', hook: 'input', priority: 0, type: 'filter', policy: 'accept' })
      .addChain({ ...T, name: 'nat', hook: 'prerouting', priority: -100, type: 'nat' })
      .addChain({ ...T, name: 'c' })
      .addSet({ ...T, name: 'ports', key: ['inet_service'] })
      .addSet({ ...T, name: 'map', key: ['inet_service'], data: ['ipv4_addr', 'inet_service'] })
      .addSet({ ...T, name: 'vmap', key: ['inet_service'], data: 'verdict' })
      .addElements({ ...T, set: 'ports', keyLen: 2, keys: ports.bytes() })
      .addElements({ ...T, set: 'vmap', keyLen: 2, keys: ports.bytes(), verdicts: [{ code: -3, chain: 'c' }, { code: 1 }] })
      .addRule({ ...T, chain: 'in', exprs: [...match.dport('tcp', 22), ...statement.accept()], comment: 'ssh' })
      .addRule({ ...T, chain: 'c', exprs: statement.return() });
  });
  return batch;
}

/** Every table of the namespace, read back whole (the generation aside). */
async function nftRuleset(conn: NativeNftConnection): Promise<string> {
  const tables = (await conn.listTables(0)).sort((a, b) => a.family - b.family || a.name.localeCompare(b.name));
  const dumps = [];
  for (const table of tables) {
    const { generation: _generation, consistent: _consistent, ...dump } = await conn.dumpTable(table.family, table.name);
    dumps.push(dump);
  }
  return show(dumps);
}

kernelTest(`${NFT_INPUTS} hostile nftables batches and dumps: committed or refused with a code, nothing changed on refusal`, async (t) => {
  const tally = new Tally();
  const done = await fuzz<Dump | NftInput>(t, 'nft', NFT_INPUTS, async (ns) => {
    const conn = await binding.openNftConnection(ns.path);
    await conn.commit(nftBaseline().messages, undefined);
    let generation = await conn.generation();
    return {
      input: (d) =>
        d.chance(0.05)
          ? { dump: [d.usually(NFT_FAMILIES, [0, 7, -1, NaN, '2']), d.usually(NFT_TABLES, ['', 'x'.repeat(5_000), 'x'.repeat(70_000), 'fz\0junk', 7])] }
          : nftInput(d, generation),
      run: async (input) => {
        if ('dump' in input) return conn.dumpTable(input.dump[0] as number, input.dump[1] as string);
        await conn.commit(input.messages, input.generation);
        generation = await conn.generation();
      },
      ruleset: () => nftRuleset(conn),
      close: () => conn.close(),
    };
  }, 1, tally);
  t.log(tally.toString());
  if (done) t.true(tally.get('nft ok') > NFT_INPUTS / 20, 'enough inputs are accepted to reach the kernel');
});

/** The baseline of each epoch: a user chain in every table of both families, with one rule. */
const IPT_BASELINE: NativeTableChange[] = IPT_DUMPS.families.flatMap((family) =>
  IPT_DUMPS.tables.map((table) => ({
    family,
    table,
    operations: encodeOperations(family, table, [
      { op: 'newChain', chain: 'FZ' },
      { op: 'append', chain: 'FZ', rule: { protocol: 'tcp', matches: [{ name: 'tcp', destinationPort: 22 }], target: { name: 'RETURN' } } },
    ]),
  })),
);

async function iptcRuleset(table: NativeIptcTable): Promise<string> {
  const fingerprints = [];
  for (const family of IPT_DUMPS.families) {
    for (const name of IPT_DUMPS.tables) fingerprints.push(decodeDump(family, await table.dump(family, name)).fingerprint);
  }
  return fingerprints.join(' ');
}

kernelTest(`${IPTC_INPUTS} hostile libiptc transactions and dumps: committed or refused with a code, nothing changed on refusal`, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bridgewall-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lockFile = path.join(dir, 'xtables.lock');
  const tally = new Tally();
  const done = await fuzz<Dump | { changes: IptcChange[]; lock: readonly [unknown, unknown] }>(t, 'iptc', IPTC_INPUTS, async (ns) => {
    const table = await binding.openIptcTable(ns.path);
    await table.transaction(IPT_BASELINE, lockFile, 10_000);
    return {
      input: (d) => {
        if (d.chance(0.05)) return { dump: [d.usually(IPT_DUMPS.families, ['ipv5', 4]), d.usually(IPT_DUMPS.tables, ['bogus', '', 'x'.repeat(40), 'nat\0junk', 7])] };
        const lock: [unknown, unknown] = d.chance(0.98)
          ? [lockFile, 10_000]
          : [d.pick(['', `${lockFile}\0junk`, path.join(dir, 'missing', 'lock'), 7]), d.pick([10_000, -1, NaN, 2 ** 32, '10'])];
        return { changes: iptcInput(d), lock };
      },
      run: (input) =>
        'dump' in input
          ? table.dump(input.dump[0] as 'ipv4', input.dump[1] as 'filter')
          : table.transaction(input.changes as unknown as NativeTableChange[], input.lock[0] as string, input.lock[1] as number),
      ruleset: () => iptcRuleset(table),
      close: () => table.close(),
    };
  }, 2, tally);
  t.log(tally.toString());
  if (done) t.true(tally.get('iptc ok') > IPTC_INPUTS / 20, 'enough inputs are accepted to reach the kernel');
});

test(`${XT_INPUTS} hostile rule lists for iptcXtExtensions: built, or refused with EINVAL`, (t) => {
  const tally = new Tally();
  for (let i = 0; i < XT_INPUTS; i++) {
    const input = xtExtensionsInput(diceFor(5, i));
    let outcome: Outcome = { ok: true };
    try {
      const rules = xtExtensionsOf(callNativeSync(() => binding.iptcXtExtensions(input.family as 'ipv4', input.operations as Buffer)));
      if (!rules.every((rule) => rule.matches.every((match) => match.info.length % 8 === 0))) {
        t.fail(`${where('xt', i, input)}\nbuilt an info not padded to 8 bytes`);
        return;
      }
    } catch (error) {
      outcome = { ok: false, error };
      if (!(error instanceof NetfilterError) || error.code !== 'EINVAL' || error.operation !== 'iptc.xtExtensions') {
        t.fail(`${where('xt', i, input)}\nfailed with ${describeError(error)}`);
        return;
      }
    }
    tally.add('xt', outcome);
  }
  t.log(tally.toString());
  t.true(tally.get('xt ok') > XT_INPUTS / 20, 'enough inputs are built');
});

const MATCH_INPUTS = 2_000;

/** Packed elements drawn from few distinct keys and values, so that they match, or hostile fields. */
function elementsInput(dice: Dice, layout: { keyLen: number; ends: boolean; dataLen: number }): Record<string, unknown> {
  const count = dice.usually([dice.int(12)], [-1, 0.5, 2 ** 31, '3', undefined]);
  const valid = typeof count === 'number' && Number.isInteger(count) && count >= 0 && count < 1000 ? count : 4;
  const draw = (length: number) => dice.usually([Uint8Array.from({ length: valid * length }, () => dice.int(1))],
    [dice.bytes(dice.int(40)), [1, 2, 3], 'bytes', new Uint16Array(valid * length), null]);
  return {
    count, keyLen: dice.usually([layout.keyLen], [0, -4, 65, 1.5, undefined]), keys: draw(layout.keyLen),
    ...(layout.ends ? { keyEnds: draw(layout.keyLen) } : {}),
    ...(layout.dataLen > 0 ? { dataLen: dice.usually([layout.dataLen], [0, 4096]), data: draw(layout.dataLen) } : {}),
  };
}

/** What nftMatchElements must answer, worked out element by element. */
function expectedMatches(have: Record<string, unknown>, want: Record<string, unknown>): number[] | null {
  const keyLen = have.keyLen as number;
  const dataLen = (have.dataLen as number | undefined) ?? 0;
  const record = (set: Record<string, unknown>, i: number, name: string, length: number) =>
    set[name] == null ? '' : Buffer.from((set[name] as Uint8Array).subarray(i * length, (i + 1) * length)).toString('hex');
  const id = (set: Record<string, unknown>, i: number) => `${record(set, i, 'keys', keyLen)}/${record(set, i, 'keyEnds', keyLen)}`;
  const first = new Map<string, number>();
  for (let i = 0; i < (have.count as number); i++) if (!first.has(id(have, i))) first.set(id(have, i), i);
  const taken = new Set<number>();
  let same = have.count === want.count;
  const matches = Array.from({ length: want.count as number }, (_, j) => {
    const i = first.get(id(want, j));
    const match = i === undefined ? -1 : record(have, i, 'data', dataLen) === record(want, j, 'data', dataLen) ? i : -2 - i;
    same &&= match >= 0 && !taken.has(match);
    taken.add(match);
    return match;
  });
  return same ? null : matches;
}

test(`${MATCH_INPUTS} hostile packed element sets for nftMatchElements: matched as worked out element by element, or refused with EINVAL`, (t) => {
  let refused = 0;
  for (let i = 0; i < MATCH_INPUTS; i++) {
    const dice = diceFor(7, i);
    dice.validity = dice.pick([1, 0.97, 0.8]);
    const layout = { keyLen: dice.pick([1, 2, 4, 12, 16]), ends: dice.chance(0.3), dataLen: dice.pick([0, 0, 4, 8]) };
    const have = elementsInput(dice, layout);
    const want = dice.chance(0.2) ? have : elementsInput(dice, dice.chance(0.95) ? layout : { ...layout, ends: !layout.ends });
    let answer: Int32Array | null;
    try {
      answer = callNativeSync(() => binding.nftMatchElements(have as never, want as never));
    } catch (error) {
      if (!(error instanceof NetfilterError) || error.code !== 'EINVAL') t.fail(`input ${i} threw ${String(error)}: ${show({ have, want })}`);
      refused++;
      continue;
    }
    const expected = expectedMatches(have, want);
    if (JSON.stringify(answer && [...answer]) !== JSON.stringify(expected)) {
      t.fail(`input ${i}: ${JSON.stringify(answer && [...answer])}, worked out ${JSON.stringify(expected)}: ${show({ have, want })}`);
      return;
    }
  }
  t.log(`${MATCH_INPUTS - refused} matched, ${refused} refused`);
  t.pass();
});

test('iptcDecodeXtExtensions: a name past the record\'s u8 length or holding a NUL is refused with EINVAL, one too long for the kernel is unsupported', (t) => {
  const tcp = { target: false, name: 'tcp', revision: 0, info: Buffer.alloc(16) };
  t.deepEqual(decodeExtensionRecords('ipv4', binding.iptcDecodeXtExtensions('ipv4', [tcp]), [false]), [{ value: { name: 'tcp', sourcePort: 0, destinationPort: 0 } }]);
  // Before: the 300-byte name aborted the process (std::length_error), and tcp\0junk decoded as tcp.
  for (const name of ['x'.repeat(256), 'x'.repeat(300), 'tcp\0junk']) {
    const error = t.throws(() => callNativeSync(() => binding.iptcDecodeXtExtensions('ipv4', [{ ...tcp, name }])), { instanceOf: NetfilterError });
    t.like(error, { code: 'EINVAL', operation: 'iptc.decodeXtExtensions' }, name);
  }
  for (const name of ['x'.repeat(29), 'x'.repeat(255)]) {
    const records = binding.iptcDecodeXtExtensions('ipv6', [{ ...tcp, name }, { ...tcp, name, target: true }]);
    t.deepEqual(decodeExtensionRecords('ipv6', records, [false, true]).map((record) => record.unsupported !== undefined), [true, true], name);
  }
});

test(`${XT_DECODE_INPUTS} hostile nft_compat extensions for iptcDecodeXtExtensions: decoded (an unknown one as unsupported), or refused with EINVAL`, (t) => {
  const tally = new Tally();
  for (let i = 0; i < XT_DECODE_INPUTS; i++) {
    const input = xtDecodeInput(diceFor(6, i));
    let outcome: Outcome = { ok: true };
    let label = 'xt decode';
    try {
      const records = callNativeSync(() => binding.iptcDecodeXtExtensions(input.family as 'ipv4', input.extensions as []));
      const items = input.extensions as XtItemInput[];
      // Well-formed records, one per extension; a name the decoder does not know exactly is never decoded as another.
      const decoded = decodeExtensionRecords(input.family as 'ipv4', records, items.map((item) => Boolean(item.target)));
      const misread = items.findIndex((item, n) => !XT_NAMES.has(item.name as string) && decoded[n]!.unsupported === undefined);
      if (misread >= 0) {
        t.fail(`${where('xt decode', i, input)}\ndecoded extension ${misread} as ${JSON.stringify(decoded[misread])}`);
        return;
      }
      label = decoded.some((record) => record.unsupported !== undefined) ? 'xt decode unsupported' : 'xt decode modelled';
    } catch (error) {
      outcome = { ok: false, error };
      if (!(error instanceof NetfilterError) || error.code !== 'EINVAL' || error.operation !== 'iptc.decodeXtExtensions') {
        t.fail(`${where('xt decode', i, input)}\nfailed with ${describeError(error)}`);
        return;
      }
    }
    tally.add(label, outcome);
  }
  t.log(tally.toString());
  t.true(tally.get('xt decode modelled ok') > XT_DECODE_INPUTS / 20, 'enough inputs decode as the model');
});

kernelTest(`${HOST_INPUTS} hostile namespace paths and identities, sysctl writes, bridge names and conntrack filters: done or refused with a code`, async (t) => {
  const tally = new Tally();
  const done = await fuzz<readonly [kind: 'sysctl' | 'bridge' | 'conntrack' | 'netns' | 'nft' | 'iptc', netns: unknown, argument: unknown]>(t, 'host', HOST_INPUTS, async (ns) => {
    // A bridge with a port, so hairpin mode is really set.
    await ns.run('ip', 'link', 'add', 'br-fz', 'type', 'bridge');
    await ns.run('ip', 'link', 'add', 'fz0', 'type', 'veth', 'peer', 'name', 'fz1');
    await ns.run('ip', 'link', 'set', 'fz0', 'master', 'br-fz');
    const conn = await binding.openNftConnection(ns.path);
    const table = await binding.openIptcTable(ns.path);
    const sysctls = (entries: unknown) => binding.writeSysctls(ns.path, entries as { path: string; value: string }[]);
    const calls = [
      (d: Dice) => ['sysctl', d.chance(0.9) ? ns.path : hostilePath(d, ns.path), sysctlInput(d)] as const,
      (d: Dice) => ['bridge', d.chance(0.9) ? ns.path : hostilePath(d, ns.path), bridgeInput(d)] as const,
      (d: Dice) => ['conntrack', undefined, conntrackInput(d)] as const,
      (d: Dice) => ['netns', d.chance(0.5) ? d.pick([ns.path, '']) : hostilePath(d, ns.path), undefined] as const,
      (d: Dice) => [d.pick(['nft', 'iptc'] as const), hostilePath(d, ns.path), undefined] as const,
    ];
    return {
      input: (d) => d.pick(calls)(d),
      run: async ([kind, netns, argument]) => {
        if (kind === 'sysctl') return sysctls(argument);
        if (kind === 'bridge') return binding.setBridgePortsHairpin(netns as string, argument as string[]);
        if (kind === 'conntrack') return conn.clearConntrack(argument as Uint8Array);
        if (kind === 'netns') return checkIdentity(await binding.netnsIdentity(netns as string));
        // Opening a handle on a path that is no namespace of ours: only ever closed again.
        const handle = kind === 'nft' ? await binding.openNftConnection(netns as string) : await binding.openIptcTable(netns as string);
        handle.close();
      },
      // Nothing here may touch the ruleset either.
      ruleset: async () => `${await nftRuleset(conn)} ${await iptcRuleset(table)}`,
      close: () => {
        conn.close();
        table.close();
      },
    };
  }, 3, tally);
  t.log(tally.toString());
  if (done) t.true(tally.get('host ok') > 0);
});

/** Throws (an untyped error: a finding) unless `identity` is one a namespace has: an nsfs device and inode, a decimal cookie or none. */
function checkIdentity(identity: { device: number; inode: number; cookie: string | null }): void {
  const { device, inode, cookie } = identity;
  if (!Number.isSafeInteger(device) || !Number.isSafeInteger(inode) || inode <= 0 || !(cookie === null || /^[1-9][0-9]{0,19}$/.test(cookie))) {
    throw new Error(`not a namespace identity: ${JSON.stringify(identity)}`);
  }
}

/** What a regression input gets: both handles on a namespace holding both baselines. */
interface Handles {
  ns: TestNetns;
  conn: NativeNftConnection;
  table: NativeIptcTable;
  lockFile: string;
}

const counters = (count: number) => Array.from({ length: count }, () => statement.counter()[0]!);
/** The messages of a batch of one rule appended to `fz` `c` in family ip. */
const ruleOf = (exprs: NftExpr[]) => new NftBatch().addRule({ family: 'ip', table: 'fz', chain: 'c', exprs }).messages;
/** A rule whose counter expression has cmp's sreg for an attribute: no packer of the library writes it. */
function counterWithCmpAttribute(): NativeBatchMessage[] {
  const { types, attributes } = binding.nftExprLayout;
  const sreg = attributes.findIndex((attribute) => attribute.type === 'cmp' && attribute.name === 'sreg');
  const [message] = ruleOf([]) as [{ kind: 'rules'; rules: Uint8Array }];
  // The rule's expression count (its last two bytes) becomes 1, and the expression follows.
  const rules = Uint8Array.of(...message.rules.subarray(0, -2), 1, 0, types.indexOf('counter'), 1, sreg, 1, 0, 0, 0);
  return [{ kind: 'rules', rules }];
}
const change = (family: string, table: string, operations: unknown) => [{ family, table, operations }] as unknown as NativeTableChange[];

/** Operations packed by hand, past every check of encode.ts: `write` writes the records after the count. */
function packed(count: number, write: (out: PackedWriter) => void): Buffer {
  const out = new PackedWriter(64);
  out.u32(count);
  write(out);
  return out.finish();
}

/** A u8 length and the bytes of `text`, whatever their number. */
function rawText(out: PackedWriter, text: string, claimed = Buffer.byteLength(text)): void {
  out.u8(claimed);
  out.bytes(Buffer.from(text));
}

/** An operation's code and chain. */
function opHead(out: PackedWriter, code: number, chain: string): void {
  out.u8(code);
  out.text(chain);
}

/** `append` to INPUT of a rule accepting every packet, with `matches` (count, then records). */
const appendAccepting = (out: PackedWriter, matches: number, write: (out: PackedWriter) => void = () => {}) => {
  opHead(out, OP_CODE.append, 'INPUT');
  out.u8(TARGET_CODE.ACCEPT);
  out.u8(RULE_FIELD.protocol);
  out.u8(0);
  out.u16(6);
  out.u32(matches);
  write(out);
};
const fromSource = (family: Family, source: string) =>
  encodeOperations(family, 'filter', [{ op: 'append', chain: 'INPUT', rule: { source, target: { name: 'DROP' } } }]);

/**
 * Inputs the fuzz found, each with what the addon did with it before it
 * checked its arguments itself: overflows and loops (caught by the
 * AddressSanitizer run), and values silently turned into other ones. Each is
 * now refused with EINVAL, and nothing changes.
 */
const REGRESSIONS: [title: string, call: (h: Handles) => Promise<unknown>][] = [
  ['a rule of 3,000 expressions (overflowed the batch buffer)', ({ conn }) =>
    conn.commit(ruleOf(counters(3_000)), undefined)],
  ['a table name of 70,000 bytes (overflowed the batch buffer)', ({ conn }) =>
    conn.commit([{ kind: 'table', op: 'add', family: 2, name: 'x'.repeat(70_000) }], undefined)],
  ['cmp data of 100 bytes (overflowed libnftnl 1.2\'s data register)', ({ conn }) =>
    conn.commit(ruleOf([{ type: 'cmp', sreg: 1, op: 0, data: new Uint8Array(100) }]), undefined)],
  ['a dump of a table name of 5,000 bytes (overflowed the request on the stack)', ({ conn }) => conn.dumpTable(2, 'x'.repeat(5_000))],
  ['an element longer than an element list (looped forever)', ({ conn }) =>
    conn.commit([{ kind: 'elements', op: 'add', family: 2, table: 'fz', set: 'ports', keyLen: 70_000, count: 1, keys: new Uint8Array(70_000) }], undefined)],
  ['a count whose key bytes wrap to 0 (looped forever)', ({ conn }) =>
    conn.commit([{ kind: 'elements', op: 'add', family: 2, table: 'fz', set: 'ports', keyLen: 2 ** 31, count: 2 ** 33, keys: new Uint8Array(0) }], undefined)],
  ['family -1 (undefined behaviour to convert)', ({ conn }) => conn.commit([{ kind: 'table', op: 'add', family: -1, name: 'fz' }], undefined)],
  ['a table name cut short by a NUL (created table fz2)', ({ conn }) => conn.commit([{ kind: 'table', op: 'add', family: 2, name: 'fz2\0junk' }], undefined)],
  ['a generation that is no number (was ignored)', ({ conn }) =>
    conn.commit([{ kind: 'table', op: 'add', family: 2, name: 'fz2' }], '7' as unknown as number)],
  ['data and verdicts for one element (the verdicts were ignored)', ({ conn }) =>
    conn.commit([{ kind: 'elements', op: 'add', family: 2, table: 'fz', set: 'map', keyLen: 2, count: 1, keys: new Uint8Array(2), dataLen: 8, data: new Uint8Array(8), verdicts: [{ code: 1 }] }], undefined)],
  ['an unknown expression attribute (a TypeError without a code)', ({ conn }) =>
    conn.commit(counterWithCmpAttribute(), undefined)],
  // Ports are 16-bit in the packed layout, so port 70,000 (which wrapped to 4464) can no longer be sent.
  ['ports that run backwards (matched nothing)', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', packed(1, (out) => appendAccepting(out, 1, () => {
      out.u8(MATCH_CODE.tcp);
      out.u8(PORT_FIELD.destination);
      out.u16(80);
      out.u16(1);
    }))), lockFile, 10_000)],
  ['an IPv6 address in an IPv4 rule (cut to its first 4 bytes)', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', fromSource('ipv6', '2001:db8::1')), lockFile, 10_000)],
  ['an IPv4 address in an IPv6 rule (padded with zeros)', ({ table, lockFile }) =>
    table.transaction(change('ipv6', 'filter', fromSource('ipv4', '192.0.2.1')), lockFile, 10_000)],
  ['a jump to a chain name of 30 bytes (cut to 28, the name of another chain)', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', packed(2, (out) => {
      opHead(out, OP_CODE.newChain, 'x'.repeat(28));
      opHead(out, OP_CODE.append, 'INPUT');
      out.u8(TARGET_CODE.jump);
      out.text('x'.repeat(30));
      out.u8(0);
      out.u16(0);
      out.u32(0);
    })), lockFile, 10_000)],
  ['an append without a rule (appended one accepting every packet)', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', packed(1, (out) => opHead(out, OP_CODE.append, 'INPUT'))), lockFile, 10_000)],
  ['policy RETURN (set ACCEPT)', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', packed(1, (out) => {
      opHead(out, OP_CODE.setPolicy, 'INPUT');
      out.u8(TARGET_CODE.RETURN);
    })), lockFile, 10_000)],
  ['a chain name cut short by a NUL (created chain FZ2)', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', packed(1, (out) => {
      out.u8(OP_CODE.newChain);
      rawText(out, 'FZ2\0junk');
    })), lockFile, 10_000)],
  ['a match of an unknown code (a TypeError without a code)', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', packed(1, (out) => appendAccepting(out, 1, () => out.u8(0xee)))), lockFile, 10_000)],
  ['operations as objects, not packed', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', [{ op: 'newChain', chain: 'FZ2' }]), lockFile, 10_000)],
  ['an operation count cut short', ({ table, lockFile }) => table.transaction(change('ipv4', 'filter', Buffer.of(1, 0)), lockFile, 10_000)],
  ['an operation count of 2^32 - 1 in a buffer of one operation', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', packed(0xffffffff, (out) => opHead(out, OP_CODE.newChain, 'FZ2'))), lockFile, 10_000)],
  ['a match count of 2^32 - 1 with no match', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', packed(1, (out) => appendAccepting(out, 0xffffffff))), lockFile, 10_000)],
  ['a comment whose length runs past the end', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', packed(1, (out) => appendAccepting(out, 1, () => {
      out.u8(MATCH_CODE.comment);
      rawText(out, 'fz', 200);
    }))), lockFile, 10_000)],
  ['a byte after the last operation', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', Buffer.concat([encodeOperations('ipv4', 'filter', [{ op: 'newChain', chain: 'FZ2' }]), Buffer.of(0)])), lockFile, 10_000)],
  ['a rule of 300 comments, an entry past 64 KiB (crashed the process)', ({ table, lockFile }) =>
    table.transaction(change('ipv4', 'filter', encodeOperations('ipv4', 'filter', [{
      op: 'append', chain: 'INPUT', rule: { matches: Array.from({ length: 300 }, () => ({ name: 'comment', comment: 'x'.repeat(200) })), target: { name: 'ACCEPT' } },
    }])), lockFile, 10_000)],
  ['an unknown table (made the kernel look for a module of its name)', ({ table }) => table.dump('ipv4', 'bogus' as 'filter')],
  ['a namespace path that is no string (opened the caller\'s namespace)', async () => (await binding.openNftConnection(42 as unknown as string)).close()],
  ['a namespace path cut short by a NUL (opened the namespace)', async ({ ns }) => (await binding.openIptcTable(`${ns.path}\0junk`)).close()],
  ['a sysctl path that leaves /proc/sys (was written)', ({ ns }) => binding.writeSysctls(ns.path, [{ path: '../sys/net/ipv4/ip_forward', value: '1' }])],
  ['a sysctl path with a . component (was written: another entry than its components name)', ({ ns }) =>
    binding.writeSysctls(ns.path, [{ path: 'net/ipv4/./ip_forward', value: '1' }])],
  ['a sysctl read of a path that leaves /proc/sys', ({ ns }) => binding.readSysctls(ns.path, ['../sys/net/ipv4/ip_forward'])],
  ['the table list of an unknown family', ({ table }) => table.tables('ipv5' as 'ipv4')],
  ['a sysctl read of a path that is no string', ({ ns }) => binding.readSysctls(ns.path, [42 as unknown as string])],
  ['a bridge name cut short by a NUL (read as br-fz)', ({ ns }) => binding.setBridgePortsHairpin(ns.path, ['br-fz\0junk'])],
];

kernelTest('a malformed packed operation fails with its index counted across all changes, before any table is read', async (t) => {
  const ns = await createNetns(t, 'regress');
  const dir = mkdtempSync(path.join(tmpdir(), 'bridgewall-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const table = await binding.openIptcTable(ns.path);
  t.teardown(() => table.close());
  const changes = [
    { family: 'ipv4', table: 'filter', operations: encodeOperations('ipv4', 'filter', [{ op: 'newChain', chain: 'FZ3' }, { op: 'newChain', chain: 'FZ4' }]) },
    // A fingerprint no table has: had the table been read, this would fail with ERESTART instead.
    { family: 'ipv6', table: 'filter', fingerprint: '0000000000000000', operations: packed(2, (out) => {
      opHead(out, OP_CODE.newChain, 'FZ3');
      out.u8(0xee);
    }) },
  ] as NativeTableChange[];
  const error = await t.throwsAsync(callNative(() => table.transaction(changes, path.join(dir, 'xtables.lock'), 10_000)), { instanceOf: NetfilterError });
  t.is(error?.code, 'EINVAL');
  t.is(error?.index, 3);
  t.regex(error?.message ?? '', /changes\[1\]\.operations\[1\]: unknown operation code 238/);
  t.deepEqual(decodeDump('ipv4', await table.dump('ipv4', 'filter')).chains.map((chain) => chain.name), ['INPUT', 'FORWARD', 'OUTPUT']);
});

for (const [title, call] of REGRESSIONS) {
  kernelTest(`regression: ${title}`, async (t) => {
    const ns = await createNetns(t, 'regress');
    const dir = mkdtempSync(path.join(tmpdir(), 'bridgewall-fuzz-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const handles: Handles = {
      ns, conn: await binding.openNftConnection(ns.path), table: await binding.openIptcTable(ns.path), lockFile: path.join(dir, 'xtables.lock'),
    };
    t.teardown(() => {
      handles.conn.close();
      handles.table.close();
    });
    await handles.conn.commit(nftBaseline().messages, undefined);
    await handles.table.transaction(IPT_BASELINE, handles.lockFile, 10_000);
    const before = [await nftRuleset(handles.conn), await iptcRuleset(handles.table), await ns.run('cat', '/proc/sys/net/ipv4/ip_forward')];

    const outcome = await settle(() => call(handles));
    t.false(outcome.ok, 'refused');
    if (!outcome.ok) {
      t.true(outcome.error instanceof NetfilterError, describeError(outcome.error));
      t.is((outcome.error as NetfilterError).code, 'EINVAL', describeError(outcome.error));
    }
    t.deepEqual([await nftRuleset(handles.conn), await iptcRuleset(handles.table), await ns.run('cat', '/proc/sys/net/ipv4/ip_forward')], before);
  });
}

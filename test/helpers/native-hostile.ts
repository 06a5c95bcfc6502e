/**
 * Random and hostile arguments for the addon's private binding, drawn from a
 * seeded generator so a seed reproduces every input. Each field is usually a
 * value the TypeScript layer would send and otherwise one it would never let
 * through: out-of-range and fractional numbers, wrong types, names that are
 * empty, overlong or hold a NUL, buffers of the wrong length, odd
 * combinations. nftables rule expressions (src/native/nft.ts) and libiptc
 * operations (src/native/iptc.ts) are packed buffers,
 * whose records are hostile in the same ways (unknown codes, lengths past a
 * field's limit or past the end, flags and bit sets out of range), and which
 * are now and then cut short, bit-flipped, overwritten with huge counts or
 * replaced by random bytes. test/native-fuzz.test.ts feeds them to the addon.
 */
import { ADDRTYPE_NEGATED, MATCH_CODE, NAT_FIELD, OP_CODE, PORT_FIELD, RULE_FIELD, TARGET_CODE, type NativeXtExtension } from '../../src/native/iptc.js';
import { binding } from '../../src/native/binding.js';
import { NATIVE_RULE_FIELD, NATIVE_RULE_OP, type NativeBatchMessage, type NativeExpr, type NativeExprAttrKind } from '../../src/native/nft.js';
import { FAMILIES } from '../../src/family.js';
import { PackedWriter } from '../../src/native/packed-writer.js';
import { encodeIptnftRules } from '../../src/iptnft/encode.js';
import type { PackedRuleBodies } from '../../src/nft/batch.js';
import { unpackExprs } from '../../src/nft/pack.js';
import { expr, match, REG_1, REG_2, statement, VERDICT } from '../../src/nft/index.js';

/** Draws from a seeded stream of numbers in [0, 1) (test/reliability/hostile.ts's `random`). */
export class Dice {
  /** How often usually() picks a valid value; inputs set it per input, to be plausible or hostile throughout. */
  validity = 0.85;

  constructor(private readonly next: () => number) {}

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** 0 to max, inclusive. */
  int(max: number): number {
    return Math.floor(this.next() * (max + 1));
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)]!;
  }

  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.int(255));
  }

  /** Usually one of `valid`, otherwise one of `hostile`. */
  usually<T>(valid: readonly T[], hostile: readonly unknown[], probability = this.validity): T {
    return (this.chance(probability) ? this.pick(valid) : this.pick(hostile)) as T;
  }

  /** Decides how hostile the next input is throughout: mostly, or only now and then. */
  temper(): void {
    this.validity = this.chance(0.4) ? 0.995 : 0.85;
  }

  /** Whether to put something hostile here, as often as usually() does. */
  hostile(): boolean {
    return !this.chance(this.validity);
  }
}

/** Values of the wrong type for any field. */
const WRONG_TYPES: unknown[] = ['7', null, true, {}, [], 10n, new Uint8Array(4), Symbol.iterator];
/** Numbers no 8-, 16- or 32-bit field holds, or only just. */
const NUMBERS: unknown[] = [
  -1, -(2 ** 31), -(2 ** 31) - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 33, 2 ** 53, 1e300, 0.5, -0.5, NaN, Infinity, -Infinity,
  ...WRONG_TYPES,
];
const HOSTILE_NAMES: unknown[] = [
  '', 'x'.repeat(28), 'x'.repeat(29), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(5_000), 'x'.repeat(70_000), 'fz\0junk', 'ä'.repeat(128), 'with space',
  '\u{1F600}', ...WRONG_TYPES,
];
const HOSTILE_COMMENTS: unknown[] = ['', 'x'.repeat(127), 'x'.repeat(128), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(5_000), 'a\0b', 7];
const BYTE_LENGTHS = [0, 1, 2, 3, 4, 5, 15, 16, 17, 63, 64, 65, 100, 296, 400, 401, 1_000];

// ---------------------------------------------------------------------------
// nftables

export const NFT_FAMILIES = [2, 10, 1] as const; // ip, ip6, inet
const HOSTILE_FAMILIES: unknown[] = [0, 3, 5, 7, 255, 2 ** 16 + 2, ...NUMBERS];
const OPS = ['add', 'create', 'insert', 'replace', 'delete', 'flush'] as const;
const HOSTILE_OPS: unknown[] = ['', 'ADD', 'destroy', 'add\0', 3];

/** What an epoch's baseline holds (see native-fuzz.test.ts), so inputs often hit real objects. */
export const NFT_TABLES = ['fz', 'fz6', 'fzi'];
const NFT_CHAINS = ['in', 'c', 'nat', 'nosuch'];
const NFT_SETS = ['ports', 'map', 'vmap', 'nosuch'];

/** Expressions as the library writes them, to start from before mutating. */
/** iptcXtExtensions' rules (NativeXtExtensions) as objects: each rule's matches and its target, by name, revision and info. */
export function xtExtensionsOf(bytes: Uint8Array): { matches: NativeXtExtension[]; target?: NativeXtExtension }[] {
  let at = 0;
  const extension = (): NativeXtExtension => {
    const name = Buffer.from(bytes.subarray(at + 1, (at += 1 + bytes[at]!))).toString('latin1');
    const revision = bytes[at++]!;
    const length = bytes[at]! | (bytes[at + 1]! << 8);
    at += 2;
    return { name, revision, info: bytes.slice(at, (at += length)) };
  };
  const rules: { matches: NativeXtExtension[]; target?: NativeXtExtension }[] = [];
  while (at < bytes.length) {
    const matches = Array.from({ length: bytes[at++]! }, extension);
    rules.push(bytes[at++] === 1 ? { matches, target: extension() } : { matches });
  }
  if (at !== bytes.length) throw new Error(`extensions end at ${at}, past the ${bytes.length} bytes`);
  return rules;
}

/** Each rule's expressions as the iptables-nft encoder packs them. */
function encodedExprs(bodies: PackedRuleBodies): NativeExpr[][] {
  return Array.from({ length: bodies.offsets.length - 1 }, (_, i) => unpackExprs(bodies.bytes, bodies.offsets[i]!));
}

const VALID_EXPRS: (() => NativeExpr[])[] = [
  () => match.iifname('fz0', { negate: true }),
  () => match.saddr('198.51.100.0/24'),
  () => match.daddr('2001:db8::/64'),
  () => match.daddr('203.0.113.7/31'),
  () => match.dport('tcp', 8080),
  () => match.sport('udp', [1000, 2000], { negate: true }),
  () => match.fibDaddrType('local'),
  () => match.ctState(['established', 'related']),
  statement.accept,
  statement.drop,
  statement.return,
  statement.counter,
  statement.masquerade,
  () => statement.jump('c'),
  () => statement.goto('nosuch'),
  () => statement.dnat('192.0.2.2', 80),
  () => statement.snat('2001:db8::2'),
  () => [expr.lookup('ports', REG_1)],
  () => [expr.lookup('map', REG_1, { dreg: REG_2, invert: true })],
  () => [{ type: 'lookup', set: 'ports', sreg: REG_1, setId: 1 }],
  () => [expr.immediate(REG_1, Uint8Array.of(192, 0, 2, 1))],
  () => [{ type: 'ct', key: 0, dreg: REG_1, dir: 0 }],
  () => [{ type: 'meta', key: 3, sreg: REG_1 }],
  () => [{ type: 'range', sreg: REG_1, op: 0, from: Uint8Array.of(0, 1), to: Uint8Array.of(0, 9) }],
  // nft_compat matches and targets with the infos iptables-nft writes (src/iptnft).
  () => encodedExprs(encodeIptnftRules('ipv4', 'filter', [{ matches: [{ name: 'conntrack', states: ['ESTABLISHED'] }], target: { name: 'ACCEPT' } }]))[0]!,
  () => encodedExprs(encodeIptnftRules('ipv6', 'filter', [{ protocol: 'sctp', matches: [{ name: 'sctp', destinationPort: 9 }], target: { name: 'DROP' } }]))[0]!,
  () => encodedExprs(encodeIptnftRules('ipv4', 'filter', [{ matches: [{ name: 'comment', comment: 'fz' }, { name: 'addrtype', destinationType: 'LOCAL' }], target: { name: 'RETURN' } }]))[0]!,
  () => encodedExprs(encodeIptnftRules('ipv4', 'nat', [{ protocol: 'tcp', target: { name: 'DNAT', toAddress: '192.0.2.2', toPort: 80 } }]))[0]!,
  () => encodedExprs(encodeIptnftRules('ipv6', 'nat', [{ target: { name: 'MASQUERADE' } }]))[0]!,
];

/** Every attribute each expression type takes, as the valid expressions above use them. */
const ATTRIBUTES = new Map<string, string[]>();
for (const make of VALID_EXPRS) {
  for (const e of make()) {
    const names = new Set([...(ATTRIBUTES.get(e.type) ?? []), ...Object.keys(e).filter((k) => k !== 'type')]);
    ATTRIBUTES.set(e.type, [...names]);
  }
}
const EXPR_TYPES = [...ATTRIBUTES.keys()];

/** A hostile value of the same kind as `value` (or of another kind). */
function hostileValue(d: Dice, value: unknown): unknown {
  if (d.chance(0.1)) return d.pick(WRONG_TYPES);
  if (value instanceof Uint8Array) return d.bytes(d.pick(BYTE_LENGTHS));
  if (typeof value === 'string') return d.pick(HOSTILE_NAMES);
  if (typeof value === 'bigint') return d.pick([0n, 2n ** 64n - 1n, 2n ** 64n, -1n, 2n ** 70n]);
  return d.pick([...NUMBERS, 0, 1, 2, 8, 16, 255, 256, 65535, -3, -5]);
}

function mutateExpr(d: Dice, original: NativeExpr): NativeExpr {
  const mutated: Record<string, unknown> = { ...original };
  const names = ATTRIBUTES.get(original.type) ?? [];
  switch (d.int(5)) {
    case 0: {
      const name = d.pick(names);
      mutated[name] = hostileValue(d, original[name] ?? 0);
      break;
    }
    case 1:
      delete mutated[d.pick(names)];
      break;
    case 2:
      mutated[d.pick(['bogus', '', 'type2', 'constructor', '__proto__'])] = d.int(3);
      break;
    case 3:
      mutated.type = d.pick([...EXPR_TYPES, 'bogus', '', 'x'.repeat(300), 'match', 7]);
      break;
    case 4:
      for (const name of names) mutated[name] = hostileValue(d, original[name] ?? 0);
      break;
    default:
      return d.pick(WRONG_TYPES) as NativeExpr;
  }
  return mutated as NativeExpr;
}

function exprs(d: Dice): NativeExpr[] {
  // Mostly a few phrases; sometimes the kernel's limit of 128 expressions or far beyond it.
  const target = d.chance(0.9) ? 1 + d.int(4) : d.pick([40, 64, 128, 129, 400, 3_000]);
  const list: NativeExpr[] = [];
  while (list.length < target) list.push(...d.pick(VALID_EXPRS)());
  list.length = target;
  return list.map((e) => (d.hostile() ? mutateExpr(d, e) : e));
}

const KINDS: NativeExprAttrKind[] = ['u8', 'u32', 's32', 'u64', 'string', 'bytes', 'xtName', 'xtInfo'];

/** The low 32 bits of a number or BigInt; anything else, random bits. */
function bits32(d: Dice, value: unknown): number {
  if (typeof value === 'bigint') return Number(BigInt.asUintN(32, value));
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value) >>> 0;
  return d.int(0xffffffff) >>> 0;
}

/** `value` written as `kind` whatever it is: numbers cut to their width, texts and bytes with their length cut or (hostile) claiming more or fewer bytes than follow. */
function rawValue(out: PackedWriter, d: Dice, kind: NativeExprAttrKind, value: unknown): void {
  const claim = (length: number) => (d.hostile() ? length + d.pick([-1, 1, 200]) : length);
  switch (kind) {
    case 'u8':
      return out.u8(bits32(d, value) & 0xff);
    case 'u32':
    case 's32':
      return out.u32(bits32(d, value));
    case 'u64':
      out.u32(bits32(d, value));
      return out.u32(typeof value === 'bigint' ? bits32(d, value >> 32n) : 0);
    case 'string':
    case 'xtName': {
      const bytes = Buffer.from(typeof value === 'string' ? value : String(d.pick(HOSTILE_NAMES)));
      out.u8(claim(bytes.length) & 0xff);
      return out.bytes(bytes.subarray(0, 0x1ff));
    }
    default: {
      const bytes = value instanceof Uint8Array ? value : d.bytes(d.pick(BYTE_LENGTHS));
      out.u16(claim(bytes.length) & 0xffff);
      return out.bytes(bytes);
    }
  }
}

/**
 * Expressions packed as the addon reads them (src/native/nft.ts,
 * NATIVE_RULE_OP), hostile ones as they are: an unknown type or attribute
 * gets a code of no type or of another type's attribute, values are written
 * in their attribute's kind whatever they hold, and counts claim more now
 * and then.
 */
function packedExprs(out: PackedWriter, d: Dice): void {
  const { types, attributes } = binding.nftExprLayout;
  const list = exprs(d);
  out.u16(d.hostile() ? d.pick([list.length + 1, 0xffff]) : list.length);
  for (const e of list) {
    if (typeof e !== 'object' || e === null) {
      out.bytes(d.bytes(d.int(4)));
      continue;
    }
    const type = types.indexOf(e.type as string);
    out.u8(type >= 0 ? type : d.pick([types.length, 0xff]));
    const names = Object.keys(e).filter((name) => name !== 'type' && e[name] !== undefined);
    out.u8(d.hostile() ? d.pick([names.length + 1, 0xff]) : names.length);
    for (const name of names) {
      const known = attributes.findIndex((attribute) => attribute.type === e.type && attribute.name === name);
      const code = known >= 0 ? known : d.int(attributes.length + 1);
      out.u8(code);
      rawValue(out, d, attributes[code]?.kind ?? d.pick(KINDS), e[name]);
    }
  }
}

/** One packed rule: usually what NftBatch writes, otherwise with unknown ops or fields, hostile names, handles and comments. */
function packedRule(out: PackedWriter, d: Dice): void {
  out.u8(d.usually(Object.values(NATIVE_RULE_OP), [5, 0x7f, 0xff]));
  out.u8(d.usually(NFT_FAMILIES, [0, 3, 5, 7, 255]));
  text(out, d, NFT_TABLES);
  text(out, d, NFT_CHAINS);
  const fields = d.hostile() ? d.pick([0x20, 0xff, 0x1f]) : bitSet(d, NATIVE_RULE_FIELD) | (d.chance(0.9) ? NATIVE_RULE_FIELD.exprs : 0);
  out.u8(fields);
  const u64 = () => {
    out.u32(d.usually([1, 2, 3, 4, 1000], [0, 0xffffffff]));
    out.u32(d.usually([0], [1, 0x200000, 0xffffffff]));
  };
  if (fields & NATIVE_RULE_FIELD.handle) u64();
  if (fields & NATIVE_RULE_FIELD.position) u64();
  if (fields & NATIVE_RULE_FIELD.comment) text(out, d, ['fz', 'a comment', '', 'x'.repeat(127)]);
  if (fields & NATIVE_RULE_FIELD.compat) {
    out.u8(d.usually([0, 6, 17, 132], [1, 255]));
    out.u8(d.usually([0, 2], [1, 4, 0xff]));
  }
  if (fields & NATIVE_RULE_FIELD.exprs) packedExprs(out, d);
}

/** A run of one to three packed rules: now and then mutated bytes, random bytes or no buffer at all. */
function rulesMessage(d: Dice): NativeBatchMessage {
  if (d.chance(0.02)) return { kind: 'rules', rules: d.pick(WRONG_TYPES) } as NativeBatchMessage;
  if (d.chance(0.02)) return { kind: 'rules', rules: d.bytes(d.int(64)) };
  const out = new PackedWriter(256);
  for (let i = d.int(2); i >= 0; i--) packedRule(out, d);
  const bytes = out.finish();
  return { kind: 'rules', rules: d.chance(0.07) ? mutate(d, bytes) : bytes };
}

function name(d: Dice, valid: readonly string[]): string {
  return d.usually(valid, HOSTILE_NAMES);
}

function num(d: Dice, valid: readonly number[]): number {
  return d.usually(valid, NUMBERS);
}

function tableMessage(d: Dice): NativeBatchMessage {
  const message: Record<string, unknown> = {
    kind: 'table', op: d.usually(OPS, HOSTILE_OPS), family: d.usually(NFT_FAMILIES, HOSTILE_FAMILIES), name: name(d, [...NFT_TABLES, 'fz2']),
  };
  if (d.chance(0.3)) message.flags = num(d, [0, 1]);
  return message as NativeBatchMessage;
}

function chainMessage(d: Dice): NativeBatchMessage {
  const message: Record<string, unknown> = {
    kind: 'chain', op: d.usually(OPS, HOSTILE_OPS), family: d.usually(NFT_FAMILIES, HOSTILE_FAMILIES),
    table: name(d, NFT_TABLES), name: name(d, NFT_CHAINS),
  };
  if (d.chance(0.4)) {
    message.hook = num(d, [0, 1, 2, 3, 4, 5, 6]);
    message.priority = num(d, [0, -100, 100, -300, 2 ** 31 - 1, -(2 ** 31)]);
    message.type = d.usually(['filter', 'nat', 'route'], ['', 'bogus', ...HOSTILE_NAMES]);
  }
  if (d.chance(0.3)) message.policy = num(d, [0, 1, 2, 3]);
  return message as NativeBatchMessage;
}

function setMessage(d: Dice): NativeBatchMessage {
  const message: Record<string, unknown> = {
    kind: 'set', op: d.usually(OPS, HOSTILE_OPS), family: d.usually(NFT_FAMILIES, HOSTILE_FAMILIES),
    table: name(d, NFT_TABLES), name: name(d, NFT_SETS),
  };
  const maybe = (field: string, valid: number[]) => {
    if (d.chance(0.6)) message[field] = num(d, valid);
  };
  maybe('id', [0, 1, 7]);
  maybe('flags', [0, 0x1, 0x4, 0x8, 0x80, 0x8 | 0x4, 0xffff]);
  maybe('keyType', [7, 13, (7 << 6) | 13, 8, 0, 0xffffffff]);
  maybe('keyLen', [1, 2, 4, 8, 16, 64, 0, 65, 1_000]);
  if (d.chance(0.4)) {
    message.dataType = num(d, [7, (7 << 6) | 13, 0xffffff00, 0]);
    message.dataLen = num(d, [0, 4, 8, 16, 64, 65, 1_000]);
  }
  maybe('policy', [0, 1, 2]);
  maybe('keyByteorder', [0, 1, 2, 3]);
  maybe('dataByteorder', [0, 1, 2, 3]);
  if (d.chance(0.2)) message.comment = d.usually(['fz'], HOSTILE_COMMENTS);
  return message as NativeBatchMessage;
}

function elementsMessage(d: Dice): NativeBatchMessage {
  const keyLen = d.usually([2, 4, 8, 16], [0, 1, 3, 64, 65, 1_000, 70_000, 2 ** 31, ...NUMBERS]);
  const count = d.usually([1, 2, 3, 10, 100, 1_000], [0, 20_000, 2 ** 33, 2 ** 53, ...NUMBERS]);
  const length = (per: unknown) => {
    const exact = typeof per === 'number' && typeof count === 'number' ? per * count : 0;
    const bytes = Number.isSafeInteger(exact) && exact >= 0 && exact <= 1 << 20 ? exact : d.int(64);
    return d.chance(0.85) ? bytes : Math.max(0, bytes + d.pick([-1, 1, 4]));
  };
  const message: Record<string, unknown> = {
    kind: 'elements', op: d.usually(OPS, HOSTILE_OPS), family: d.usually(NFT_FAMILIES, HOSTILE_FAMILIES),
    table: name(d, NFT_TABLES), set: name(d, NFT_SETS), keyLen, count, keys: d.chance(0.97) ? d.bytes(length(keyLen)) : d.pick(WRONG_TYPES),
  };
  if (d.chance(0.35)) {
    message.dataLen = d.usually([4, 8], [0, 1, 64, 65, 70_000, ...NUMBERS]);
    message.data = d.bytes(length(message.dataLen));
  }
  if (d.chance(0.35)) {
    const verdicts = typeof count === 'number' && count >= 0 && count <= 1_000 ? count : d.int(4);
    message.verdicts = Array.from({ length: d.chance(0.9) ? verdicts : verdicts + 1 }, () => {
      const verdict: Record<string, unknown> = { code: d.usually(Object.values(VERDICT), [7, -6, -100, ...NUMBERS]) };
      if (d.chance(0.3)) verdict.chain = name(d, NFT_CHAINS);
      return verdict;
    });
  }
  return message as NativeBatchMessage;
}

const MESSAGES = [tableMessage, chainMessage, rulesMessage, rulesMessage, setMessage, elementsMessage, elementsMessage];

export interface NftInput {
  messages: NativeBatchMessage[];
  generation: number | undefined;
}

/** One to four batch messages, and now and then a generation or a malformed message. */
export function nftInput(d: Dice, generation: number): NftInput {
  d.temper();
  const messages = Array.from({ length: 1 + d.int(3) }, () =>
    d.chance(0.02) ? (d.pick(WRONG_TYPES) as NativeBatchMessage) : d.pick(MESSAGES)(d),
  );
  const chosen = d.chance(0.85) ? undefined : d.usually([generation, generation + 1, 0], NUMBERS, 0.5);
  return { messages, generation: chosen as number | undefined };
}

// ---------------------------------------------------------------------------
// libiptc: operations packed as src/native/iptc.ts lays them out

const IPT_TABLES = ['filter', 'nat', 'raw', 'mangle'] as const;
/** Chains of the baseline and the built-in ones. */
const IPT_CHAINS = ['FZ', 'FZ2', 'INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING', 'NOSUCH', 'x'.repeat(28)];
const INTERFACES = ['eth0', 'br-fz', 'lo', 'veth+', 'x'.repeat(15)];
/** Texts no field takes whole: past a chain's 28 bytes, an interface's 15, a comment's 255 (cut by the u8 length), empty, holding a NUL. */
const HOSTILE_TEXTS = ['x'.repeat(29), 'x'.repeat(32), 'x'.repeat(16), 'x'.repeat(255), 'x'.repeat(300), '', 'FZ\0junk', 'lo\0', 'ä'.repeat(20)];
const PORTS = [1, 80, 8080, 65535, 0];

/** A u8 length and the bytes of `text`: the length is cut to 8 bits, or (hostile) claims more or fewer bytes than follow. */
function rawText(out: PackedWriter, d: Dice, text: string): void {
  const bytes = Buffer.from(text);
  const claimed = d.chance(0.9) ? bytes.length : bytes.length + d.pick([-1, 1, 7, 200]);
  out.u8(claimed & 0xff);
  out.bytes(bytes);
}

function text(out: PackedWriter, d: Dice, valid: readonly string[]): void {
  if (d.hostile()) rawText(out, d, d.pick(HOSTILE_TEXTS));
  else out.text(d.pick(valid));
}

/** A u8 code: usually one of `codes`, otherwise 0 or one past them. */
function code(out: PackedWriter, d: Dice, codes: Record<string, number>): number {
  // `unsupported` is only ever read back, in dumps.
  const valid = Object.entries(codes).filter(([name]) => name !== 'unsupported').map(([, value]) => value);
  const chosen = d.usually(valid, [0, Math.max(...Object.values(codes)) + 1, codes.unsupported ?? 0, 0x7f, 0xff]);
  out.u8(chosen);
  return chosen;
}

/** A flag (0 or 1), or a byte no flag holds. */
function flag(out: PackedWriter, d: Dice): void {
  out.u8(d.hostile() ? d.pick([2, 0x80, 0xff]) : d.int(1));
}

/** A bit set of `bits`, or one with bits the layout does not name. */
function bitSet(d: Dice, bits: Record<string, number>): number {
  if (d.hostile()) return d.pick([0x80, 0xff, 0x40 | Object.values(bits)[0]!]);
  return Object.values(bits).reduce((set, bit) => (d.chance(0.4) ? set | bit : set), 0);
}

function ports(out: PackedWriter, d: Dice): void {
  const first = d.pick(PORTS);
  const last = d.hostile() ? d.pick([0, first - 1, 1]) : d.chance(0.8) ? first : Math.max(first, d.pick(PORTS));
  out.u16(first);
  out.u16(last & 0xffff);
}

/** A length and as many bytes: usually the family's, otherwise a length neither family has. */
function address(out: PackedWriter, d: Dice, family: unknown, copies: number): void {
  const right = family === 'ipv6' ? 16 : 4;
  const length = d.hostile() ? d.pick([0, 1, 5, 20 - right, 17, 32, 255]) : right;
  out.u8(length);
  for (let i = 0; i < copies; i++) out.bytes(d.bytes(d.chance(0.95) ? length : d.int(length)));
}

function iptMatch(out: PackedWriter, d: Dice): void {
  switch (code(out, d, MATCH_CODE)) {
    case MATCH_CODE.tcp:
    case MATCH_CODE.udp:
    case MATCH_CODE.sctp: {
      const fields = bitSet(d, PORT_FIELD);
      out.u8(fields);
      if (fields & PORT_FIELD.source) ports(out, d);
      if (fields & PORT_FIELD.destination) ports(out, d);
      return;
    }
    case MATCH_CODE.addrtype:
      out.u16(d.pick([0, 2, 4, 0x10, 0xffff]));
      out.u16(d.pick([0, 2, 0xfff, 0xffff]));
      return out.u8(bitSet(d, ADDRTYPE_NEGATED));
    case MATCH_CODE.conntrack:
      out.u16(d.pick([2, 4, 6, 8, 0, 0xffff]));
      return flag(out, d);
    case MATCH_CODE.mark:
      out.u32(d.pick([0, 1, 0xffffffff]));
      out.u32(d.pick([0xffffffff, 0xff, 0]));
      return flag(out, d);
    case MATCH_CODE.comment:
      return text(out, d, ['fz', 'x'.repeat(255)]);
    default:
      return undefined;
  }
}

function iptTarget(out: PackedWriter, d: Dice, family: unknown): void {
  switch (code(out, d, TARGET_CODE)) {
    case TARGET_CODE.jump:
      text(out, d, IPT_CHAINS);
      return flag(out, d);
    case TARGET_CODE.DNAT:
    case TARGET_CODE.SNAT: {
      const fields = bitSet(d, NAT_FIELD);
      out.u8(fields);
      if (fields & NAT_FIELD.address) address(out, d, family, 1);
      if (fields & NAT_FIELD.ports) ports(out, d);
      return;
    }
    case TARGET_CODE.MASQUERADE: {
      const fields = d.hostile() ? bitSet(d, NAT_FIELD) : d.pick([0, NAT_FIELD.ports]);
      out.u8(fields);
      if (fields & NAT_FIELD.ports) ports(out, d);
      return;
    }
    default:
      return undefined;
  }
}

function iptRule(out: PackedWriter, d: Dice, family: unknown): void {
  iptTarget(out, d, family);
  const present = bitSet(d, RULE_FIELD);
  const negated = d.hostile() ? bitSet(d, RULE_FIELD) : present & bitSet(d, RULE_FIELD);
  out.u8(present);
  out.u8(negated);
  if (present & RULE_FIELD.source) address(out, d, family, 2);
  if (present & RULE_FIELD.destination) address(out, d, family, 2);
  if (present & RULE_FIELD.inInterface) text(out, d, INTERFACES);
  if (present & RULE_FIELD.outInterface) text(out, d, INTERFACES);
  if (present & RULE_FIELD.protocol) out.u16(d.usually([6, 17, 132, 1, 58, 0, 255], [256, 0xffff]));
  const count = d.int(3);
  out.u32(d.hostile() ? d.pick([count + 1, 0xffff, 0xffffffff]) : count);
  for (let i = 0; i < count; i++) iptMatch(out, d);
}

function iptOperation(out: PackedWriter, d: Dice, family: unknown, operations: Record<string, number>): void {
  const op = code(out, d, operations);
  text(out, d, IPT_CHAINS);
  // The fields the operation needs, usually; sometimes missing or added where not needed.
  const needsRule = ([OP_CODE.append, OP_CODE.insert, OP_CODE.replace, OP_CODE.deleteRule] as number[]).includes(op);
  const needsIndex = ([OP_CODE.insert, OP_CODE.replace, OP_CODE.deleteAt] as number[]).includes(op);
  if ((op === OP_CODE.setPolicy) !== d.hostile()) out.u8(d.usually([TARGET_CODE.ACCEPT, TARGET_CODE.DROP], [TARGET_CODE.RETURN, 0, 0xff]));
  if (needsIndex !== d.hostile()) out.u32(d.pick([0, 1, 2, 5, 1_000, 0xffffffff]));
  if (needsRule !== d.hostile()) iptRule(out, d, family);
}

/** `bytes` cut short, with bits flipped, bytes overwritten or a huge number written over them, or more appended. */
function mutate(d: Dice, bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  const at = () => d.int(Math.max(0, copy.length - 1));
  switch (d.int(4)) {
    case 0:
      return copy.subarray(0, d.int(copy.length));
    case 1:
      for (let i = d.int(3); i >= 0 && copy.length > 0; i--) copy[at()]! ^= 1 << d.int(7);
      return copy;
    case 2:
      for (let i = d.int(3); i >= 0 && copy.length > 0; i--) copy[at()] = d.pick([0, 0xff, 0x7f, 0x80]);
      return copy;
    case 3: {
      if (copy.length >= 4) copy.writeUInt32LE(d.pick([0xffffffff, 0x80000000, 0xffff, 256]), d.int(copy.length - 4));
      return copy;
    }
    default:
      return Buffer.concat([copy, d.bytes(1 + d.int(16))]);
  }
}

/**
 * The packed operations of one change, of the kinds `operations` names:
 * usually plausible records, sometimes mutated bytes, random bytes or no
 * buffer at all.
 */
function iptOperations(d: Dice, family: unknown, operations: Record<string, number> = OP_CODE): unknown {
  if (d.chance(0.02)) return d.pick([...WRONG_TYPES, [{ op: 'newChain', chain: 'FZ2' }]]);
  if (d.chance(0.02)) return Buffer.from(d.bytes(d.int(64)));
  const count = 1 + d.int(3);
  const out = new PackedWriter(64);
  out.u32(d.hostile() ? d.pick([0, count - 1, count + 1, 0xffffffff, 0x80000000]) : count);
  for (let i = 0; i < count; i++) iptOperation(out, d, family, operations);
  const bytes = out.finish();
  return d.chance(0.07) ? mutate(d, bytes) : bytes;
}

export interface IptcChange {
  family: unknown;
  table: unknown;
  operations: unknown;
  fingerprint?: unknown;
}

/** One or two table changes of one to four operations, now and then with a fingerprint. */
export function iptcInput(d: Dice): IptcChange[] {
  d.temper();
  return Array.from({ length: d.chance(0.8) ? 1 : 2 }, () => {
    const family = d.usually(FAMILIES, ['ipv5', '', 4, null], 0.97);
    const change: IptcChange = {
      family,
      table: d.usually(IPT_TABLES, ['security', 'bogus', 'x'.repeat(40), '', 'filter\0junk', 7], 0.95),
      operations: iptOperations(d, family),
    };
    if (d.chance(0.1)) change.fingerprint = d.pick(['0000000000000000', '', 'x'.repeat(1_000), 7]);
    return change;
  });
}

export const IPT_DUMPS = { families: FAMILIES, tables: IPT_TABLES };

/** Arguments of iptcXtExtensions: a family and rules packed as appends (usually). */
export function xtExtensionsInput(d: Dice): { family: unknown; operations: unknown } {
  d.temper();
  const family = d.usually(FAMILIES, ['ipv5', '', 4, null], 0.97);
  return { family, operations: iptOperations(d, family, { append: OP_CODE.append }) };
}

/** An nft_compat match or target as the iptables-nft reader hands it to iptcDecodeXtExtensions. */
export interface XtItemInput {
  target: unknown;
  name: unknown;
  revision: unknown;
  info: unknown;
}

/** Every extension iptables-nft writes as nft_compat, with the infos it writes for it, in both families. */
const XT_ITEMS: { target: boolean; name: string; revision: number; info: Uint8Array }[] = FAMILIES.flatMap((family) => {
  const address = family === 'ipv4' ? '192.0.2.2' : '2001:db8::2';
  return [
    encodeIptnftRules(family, 'filter', [
      { protocol: 'tcp', matches: [{ name: 'tcp' }, { name: 'conntrack', states: ['RELATED', 'ESTABLISHED'] }, { name: 'comment', comment: 'fz' }], target: { name: 'ACCEPT' } },
      { protocol: 'sctp', matches: [{ name: 'sctp', destinationPort: 9 }, { name: 'addrtype', destinationType: 'LOCAL', sourceTypeNegated: true, sourceType: 'LOCAL' }, { name: 'mark', mark: 1, mask: 0xff }], target: { name: 'DROP' } },
    ]),
    encodeIptnftRules(family, 'nat', [
      { protocol: 'udp', matches: [{ name: 'udp' }], target: { name: 'DNAT', toAddress: address, toPort: 80 } },
      { target: { name: 'SNAT', toAddress: address } },
      { target: { name: 'MASQUERADE' } },
    ]),
  ].flatMap(encodedExprs).flat()
    .filter((e) => e.type === 'match' || e.type === 'target')
    .map((e) => ({ target: e.type === 'target', name: e.name as string, revision: e.rev as number, info: e.info as Uint8Array }));
});
/** The names the native decoder knows: any other (a NUL-cut one included) must decode as unsupported. */
export const XT_NAMES = new Set(XT_ITEMS.map((item) => item.name));

/**
 * Arguments of iptcDecodeXtExtensions: a family and nft_compat extensions,
 * usually as iptables-nft writes them, else with the other kind's flag, a
 * known extension's name under another's info, a hostile name or revision,
 * random info bytes of the right size or of a wrong one, or a wrong type.
 */
export function xtDecodeInput(d: Dice): { family: unknown; extensions: unknown } {
  d.temper();
  const family = d.usually(FAMILIES, ['ipv5', '', 4, null], 0.97);
  if (d.chance(0.02)) return { family, extensions: d.pick([...WRONG_TYPES, Buffer.from(d.bytes(16))]) };
  return { family, extensions: Array.from({ length: 1 + d.int(3) }, () => xtItem(d)) };
}

function xtItem(d: Dice): XtItemInput | unknown {
  if (d.chance(0.02)) return d.pick(WRONG_TYPES);
  const valid = d.pick(XT_ITEMS);
  const item: XtItemInput = { ...valid, info: Buffer.from(valid.info) };
  if (d.hostile()) item.target = d.pick([!valid.target, ...WRONG_TYPES]);
  if (d.hostile()) item.name = d.pick([...HOSTILE_NAMES, ...XT_NAMES, `${valid.name}\0junk`, valid.name.toLowerCase(), 'standard', 'x'.repeat(29)]);
  if (d.hostile()) item.revision = d.pick([...NUMBERS, 0, 1, 2, 3, 255, 256]);
  if (d.chance(0.3)) item.info = Buffer.from(d.bytes(valid.info.length));
  else if (d.hostile()) item.info = d.pick([Buffer.from(d.bytes(d.pick(BYTE_LENGTHS))), mutate(d, Buffer.from(valid.info)), ...WRONG_TYPES]);
  return item;
}

// ---------------------------------------------------------------------------
// Namespace paths, sysctls and bridge ports

/** Namespace paths that are no namespace of this test's: missing, not a namespace, relative, truncated by a NUL. */
export function hostilePath(d: Dice, netns: string): unknown {
  return d.pick(['/nonexistent/netns', '/dev/null', '/proc/self/status', 'relative/netns', `${netns}\0junk`, `${netns}/`, 'x'.repeat(5_000), ...WRONG_TYPES]);
}

/** Entries of /proc/sys/net that belong to the namespace itself, and paths that leave /proc/sys/net or are no path. */
export function sysctlInput(d: Dice): { path: unknown; value: unknown }[] {
  return Array.from({ length: 1 + d.int(2) }, () => ({
    path: d.usually(
      ['net/ipv4/ip_forward', 'net/ipv4/conf/all/forwarding', 'net/ipv6/conf/all/forwarding', 'net/ipv4/conf/br-fz/route_localnet', 'net/ipv4/conf/nosuch/forwarding'],
      ['', '../sys/net/ipv4/ip_forward', '/net/ipv4/ip_forward', 'net/ipv4/../ipv4/ip_forward', 'net/ipv4/ip_forward\0junk', 'net/..', '..', 'net/./ipv4/ip_forward', 'net//ipv4/ip_forward', 'net/ipv4/conf/', 'x'.repeat(5_000), ...WRONG_TYPES],
    ),
    value: d.usually(['0', '1'], ['', 'abc', '1\n', '-1', 'x'.repeat(10_000), 'ä', 1, null]),
  }));
}

export function bridgeInput(d: Dice): unknown[] {
  return Array.from({ length: d.int(3) }, () => d.usually(['br-fz', 'lo', 'nosuch'], ['', 'x'.repeat(15), 'x'.repeat(16), 'br-fz\0junk', 'x'.repeat(5_000), ...WRONG_TYPES]));
}

// ---------------------------------------------------------------------------
// Conntrack filters

/**
 * Packed conntrack filters (src/native/conntrack.ts's layout): usually well
 * formed, with hostile families, protocols, port ranges and flags now and
 * then, an address of the other family's length, and the whole buffer now and then cut
 * short, bit-flipped, given a huge count, replaced by random bytes or by no
 * buffer at all.
 */
export function conntrackInput(d: Dice): unknown {
  if (d.chance(0.03)) return d.pick([...WRONG_TYPES, [1, 2, 3]]);
  const out = new PackedWriter(64);
  const count = d.int(4);
  out.u32(count);
  for (let i = 0; i < count; i++) {
    const family = d.usually([2, 10], [0, 1, 7, 255]);
    const addressLength = (family === 10) !== d.hostile() ? 16 : 4;
    const flags = d.usually([0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 15], [4, 5, 16, 0x80, 255]);
    out.u8(family);
    out.u8(d.usually([6, 17, 132], [0, 1, 255]));
    const first = d.usually([53, 8053, 80, 1], [0, 65535]);
    out.u16(first);
    out.u16(d.usually([first, first + d.int(1_000)], [first - 1, 65535, 0]) & 0xffff);
    out.u8(flags);
    if (flags & 1) out.bytes(d.bytes(addressLength));
    if (flags & 2) {
      out.bytes(d.bytes(addressLength));
      out.u16(d.int(65535));
    }
  }
  const bytes = Uint8Array.from(out.finish());
  if (d.hostile()) {
    const mangle = d.int(3);
    if (mangle === 0) return bytes.subarray(0, d.int(bytes.length));
    if (mangle === 1 && bytes.length > 0) {
      const at = d.int(bytes.length - 1);
      bytes[at] = bytes[at]! ^ (1 << d.int(7));
    }
    if (mangle === 2) bytes.set([0xff, 0xff, 0xff, 0x7f].slice(0, Math.min(4, bytes.length)));
    if (mangle === 3) return d.bytes(d.pick(BYTE_LENGTHS));
  }
  return bytes;
}

/**
 * NftBatch buffers tables, chains, rules, sets and elements; an NftConnection
 * commits it as ONE netlink transaction that the kernel applies all or nothing.
 */
import { invalid } from '../errors';
import { NATIVE_RULE_FIELD as RULE_FIELD, NATIVE_RULE_OP, type NativeBatchMessage, type NativeBatchOp, type NativeVerdict } from '../native/nft';
import { PackedWriter } from '../native/packed-writer';
import {
  DATA_VERDICT, DATATYPE, DATATYPE_LEN, HOOK, NAME_MAXLEN, NFPROTO, type NftDatatype, type NftFamily, type NftHook, type NftPolicy,
  POLICY, SET_FLAG,
} from './constants';
import type { NftExpr } from './expr';
import { byteorderOf, datatypeOf, lengthOf } from './keys';
import { packExprs } from './pack';

export interface TableRef {
  family: NftFamily;
  table: string;
}

export interface ChainSpec extends TableRef {
  name: string;
  /** Base chains only: the hook, priority and type. */
  hook?: NftHook;
  priority?: number;
  type?: 'filter' | 'nat' | 'route';
  policy?: NftPolicy;
}

interface RulePlace extends TableRef {
  chain: string;
  /** add: after this rule handle; insert: before it. Default: end / start of the chain. */
  position?: number;
}

export interface RuleSpec extends RulePlace {
  exprs: readonly NftExpr[];
  comment?: string;
  /**
   * The protocol the rule's nft_compat extensions (xt matches and targets)
   * are checked against, as iptables-nft sends it: its `-p` number (0 for
   * none) and whether `-p` is negated. The kernel checks with it and keeps it not.
   */
  compat?: RuleCompat;
}

export interface RuleCompat {
  protocol: number;
  negated: boolean;
}

/**
 * Rules' bodies packed by an encoder that writes the layout itself
 * (NATIVE_RULE_OP in src/native/nft.ts): rule i's expressions (their count,
 * then each) are `bytes` from `offsets[i]` to `offsets[i + 1]`, and its
 * compat (RuleSpec's) the u8 protocol and u8 flags at `compat[2 * i]`.
 * The batch copies them as they are: the encoder answers for them, and the
 * addon checks every byte.
 */
export interface PackedRuleBodies {
  bytes: Uint8Array;
  offsets: Uint32Array;
  compat: Uint8Array;
}

/** Rule `index` of `bodies`, at its place. */
export interface PackedRuleSpec extends RulePlace {
  bodies: PackedRuleBodies;
  index: number;
}

export interface SetSpec extends TableRef {
  name: string;
  /** The key's datatype; several for a concatenation (`ipv4_addr . inet_service`). */
  key: readonly NftDatatype[];
  /** Maps: the value's datatype(s), or 'verdict' for a verdict map. */
  data?: readonly NftDatatype[] | 'verdict';
  /**
   * Extra SET_FLAG bits (MAP is implied by `data`). An interval set with a
   * concatenated key also gets CONCAT and the length of each field, as nft
   * declares one: the kernel stores it as ranges of every field (pipapo).
   */
  flags?: number;
  comment?: string;
  /** nft's `counter` in a set: each element counts the packets and bytes that matched it. */
  counter?: boolean;
}

export interface ElementsSpec extends TableRef {
  set: string;
  keyLen: number;
  /** count * keyLen bytes. */
  keys: Uint8Array;
  /** Interval sets with a concatenated key: count * keyLen bytes, the key that closes each element's range. */
  keyEnds?: Uint8Array;
  /** Data maps: count * dataLen bytes. */
  dataLen?: number;
  data?: Uint8Array;
  /** Verdict maps: one verdict per key. */
  verdicts?: readonly NativeVerdict[];
}

export function checkName(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) >= NAME_MAXLEN || value.includes('\0')) {
    invalid(field, `a name of 1 to ${NAME_MAXLEN - 1} bytes`, value);
  }
}

function family(ref: TableRef): number {
  const number = NFPROTO[ref.family];
  if (number === undefined) invalid('family', `one of ${Object.keys(NFPROTO).join(', ')}`, ref.family);
  checkName(ref.table, 'table');
  return number;
}

export class NftBatch {
  readonly #messages: NativeBatchMessage[] = [];
  /** The run of rules the last messages are, while rules are added one after the other. */
  #rules: { writer: PackedWriter; message: Extract<NativeBatchMessage, { kind: 'rules' }> } | undefined;
  private readonly descriptions: string[] = [];
  /** The place of the last rule, checked. */
  #lastPlace: (TableRef & { chain: string; number: number }) | undefined;

  /** @internal The messages in commit order, each run of rules packed in one. */
  get messages(): readonly NativeBatchMessage[] {
    this.#finishRules();
    return this.#messages;
  }

  #finishRules(): void {
    if (this.#rules) this.#rules.message.rules = this.#rules.writer.finish();
  }

  /** The objects in the batch: tables, chains, rules, sets and element lists. */
  get length(): number {
    return this.descriptions.length;
  }

  /** What the object at `index` is, for error messages. */
  describe(index: number): string | undefined {
    return this.descriptions[index];
  }

  private push(message: NativeBatchMessage, description: string): this {
    this.#finishRules();
    this.#rules = undefined;
    this.#messages.push(message);
    this.descriptions.push(description);
    return this;
  }

  /** Adds a table; no error if it exists. `create` fails with EEXIST instead. */
  addTable(spec: { family: NftFamily; name: string }, op: 'add' | 'create' = 'add'): this {
    const f = family({ family: spec.family, table: spec.name });
    return this.push({ kind: 'table', op, family: f, name: spec.name }, `${op} table ${spec.family} ${spec.name}`);
  }

  deleteTable(spec: { family: NftFamily; name: string }): this {
    const f = family({ family: spec.family, table: spec.name });
    return this.push({ kind: 'table', op: 'delete', family: f, name: spec.name }, `delete table ${spec.family} ${spec.name}`);
  }

  /** Deletes every rule of every chain in the table. */
  flushTable(spec: { family: NftFamily; name: string }): this {
    const f = family({ family: spec.family, table: spec.name });
    return this.push({ kind: 'table', op: 'flush', family: f, name: spec.name }, `flush table ${spec.family} ${spec.name}`);
  }

  addChain(spec: ChainSpec, op: 'add' | 'create' = 'add'): this {
    const f = family(spec);
    checkName(spec.name, 'chain');
    const message: NativeBatchMessage = { kind: 'chain', op, family: f, table: spec.table, name: spec.name };
    if (spec.hook !== undefined) {
      if (HOOK[spec.hook] === undefined) invalid('hook', `one of ${Object.keys(HOOK).join(', ')}`, spec.hook);
      if (!Number.isInteger(spec.priority)) invalid('priority', 'an integer', spec.priority);
      message.hook = HOOK[spec.hook];
      message.priority = spec.priority!;
      message.type = spec.type ?? 'filter';
    }
    if (spec.policy !== undefined) {
      if (POLICY[spec.policy] === undefined) invalid('policy', 'accept or drop', spec.policy);
      message.policy = POLICY[spec.policy];
    }
    return this.push(message, `${op} chain ${spec.family} ${spec.table} ${spec.name}`);
  }

  deleteChain(spec: TableRef & { name: string }): this {
    return this.chainOp('delete', spec);
  }

  /** Deletes every rule of the chain. */
  flushChain(spec: TableRef & { name: string }): this {
    return this.chainOp('flush', spec);
  }

  private chainOp(op: NativeBatchOp, spec: TableRef & { name: string }): this {
    const f = family(spec);
    checkName(spec.name, 'chain');
    return this.push({ kind: 'chain', op, family: f, table: spec.table, name: spec.name }, `${op} chain ${spec.family} ${spec.table} ${spec.name}`);
  }

  /** Appends a rule (after `position` when given). */
  addRule(spec: RuleSpec | PackedRuleSpec): this {
    return 'bodies' in spec ? this.packedRule('add', spec) : this.rule('add', spec);
  }

  /** Inserts a rule at the head of the chain (before `position` when given). */
  insertRule(spec: RuleSpec | PackedRuleSpec): this {
    return 'bodies' in spec ? this.packedRule('insert', spec) : this.rule('insert', spec);
  }

  replaceRule(spec: RuleSpec & { handle: number }): this {
    return this.rule('replace', spec);
  }

  deleteRule(spec: TableRef & { chain: string; handle: number }): this {
    return this.rule('delete', { ...spec, exprs: [] });
  }

  /** A rule, packed (NATIVE_RULE_OP in src/native/nft.ts) into the run of rules the batch ends with, or a new one. */
  private rule(op: Exclude<NativeBatchOp, 'flush'>, spec: RuleSpec & { handle?: number }): this {
    if (!Array.isArray(spec.exprs)) invalid('exprs', 'an array of expressions', spec.exprs);
    const handle = spec.handle === undefined ? undefined : checkHandle(spec.handle, 'handle');
    const comment = spec.comment === undefined ? undefined : checkComment(spec.comment);
    if (spec.compat !== undefined) {
      checkCompatProtocol(spec.compat.protocol);
      if (typeof spec.compat.negated !== 'boolean') invalid('compat.negated', 'a boolean', spec.compat.negated);
    }
    const fields = (handle === undefined ? 0 : RULE_FIELD.handle) | (comment === undefined ? 0 : RULE_FIELD.comment) |
      (spec.compat === undefined ? 0 : RULE_FIELD.compat) | (op === 'delete' ? 0 : RULE_FIELD.exprs);
    return this.packRule(op, spec, handle, fields, (out) => {
      if (comment !== undefined) out.text(comment);
      if (spec.compat !== undefined) {
        out.u8(spec.compat.protocol);
        out.u8(spec.compat.negated ? COMPAT_INVERT : 0);
      }
      if (op !== 'delete') packExprs(out, spec.exprs, 'exprs');
    });
  }

  /** Rule `index` of packed bodies: its compat and expressions copied as they are. */
  private packedRule(op: 'add' | 'insert', spec: PackedRuleSpec): this {
    const { bodies, index } = spec;
    return this.packRule(op, spec, undefined, RULE_FIELD.compat | RULE_FIELD.exprs, (out) => {
      out.u8(bodies.compat[2 * index]!);
      out.u8(bodies.compat[2 * index + 1]!);
      out.copy(bodies.bytes, bodies.offsets[index]!, bodies.offsets[index + 1]!);
    });
  }

  /** The family number of a rule's place, its table and chain checked: once for a run of rules in one chain. */
  #checkedFamily(place: RulePlace): number {
    const last = this.#lastPlace;
    if (last && last.family === place.family && last.table === place.table && last.chain === place.chain) return last.number;
    const number = family(place);
    checkName(place.chain, 'chain');
    this.#lastPlace = { family: place.family, table: place.table, chain: place.chain, number };
    return number;
  }

  /**
   * A rule into the run of rules the batch ends with, or a new one: its op,
   * place and `handle`, then what `body` writes of the `fields` after them.
   */
  private packRule(
    op: Exclude<NativeBatchOp, 'flush'>, place: RulePlace, handle: number | undefined, fields: number, body: (out: PackedWriter) => void,
  ): this {
    const f = this.#checkedFamily(place);
    const position = place.position === undefined ? undefined : checkHandle(place.position, 'position');
    const where = position === undefined ? '' : ` ${op === 'insert' ? 'before' : 'after'} rule ${position}`;
    const description = `${op} rule in ${place.family} ${place.table} ${place.chain}${where}`;
    const out = this.#rules?.writer ?? new PackedWriter(1 << 12);
    // Packed in a copy of the run's end: a rule refused half-way leaves the run as it was.
    const start = out.length;
    try {
      out.u8(NATIVE_RULE_OP[op]);
      out.u8(f);
      out.text(place.table);
      out.text(place.chain);
      out.u8(fields | (position === undefined ? 0 : RULE_FIELD.position));
      if (handle !== undefined) u64(out, handle);
      if (position !== undefined) u64(out, position);
      body(out);
    } catch (error) {
      out.truncate(start);
      throw error;
    }
    if (!this.#rules) {
      const message = { kind: 'rules' as const, rules: EMPTY };
      this.push(message, description);
      this.#rules = { writer: out, message };
    } else {
      this.descriptions.push(description);
    }
    return this;
  }

  addSet(spec: SetSpec, op: 'add' | 'create' = 'add'): this {
    const f = family(spec);
    checkName(spec.name, 'set');
    checkDatatypes(spec.key, 'key');
    const message: NativeBatchMessage = {
      kind: 'set', op, family: f, table: spec.table, name: spec.name, flags: spec.flags ?? 0,
      keyType: datatypeOf(spec.key), keyLen: lengthOf(spec.key), keyByteorder: byteorderOf(spec.key),
    };
    if ((message.flags! & SET_FLAG.interval) !== 0 && spec.key.length > 1) {
      message.flags! |= SET_FLAG.concat;
      message.concat = spec.key.map((type) => DATATYPE_LEN[type]);
    }
    if (spec.data === 'verdict') {
      message.flags! |= SET_FLAG.map;
      message.dataType = DATA_VERDICT;
      message.dataLen = 0;
    } else if (spec.data !== undefined) {
      checkDatatypes(spec.data, 'data');
      message.flags! |= SET_FLAG.map;
      message.dataType = datatypeOf(spec.data);
      message.dataLen = lengthOf(spec.data);
      message.dataByteorder = byteorderOf(spec.data);
    }
    if (spec.comment !== undefined) message.comment = checkComment(spec.comment);
    if (spec.counter) message.counter = true;
    return this.push(message, `${op} set ${spec.family} ${spec.table} ${spec.name}`);
  }

  deleteSet(spec: TableRef & { name: string }): this {
    return this.setOp('delete', spec);
  }

  /** Removes every element of the set. */
  flushSet(spec: TableRef & { name: string }): this {
    return this.setOp('flush', spec);
  }

  private setOp(op: NativeBatchOp, spec: TableRef & { name: string }): this {
    const f = family(spec);
    checkName(spec.name, 'set');
    return this.push({ kind: 'set', op, family: f, table: spec.table, name: spec.name }, `${op} set ${spec.family} ${spec.table} ${spec.name}`);
  }

  /** Adds elements (no error for ones already present); `create` fails on an existing one. */
  addElements(spec: ElementsSpec, op: 'add' | 'create' = 'add'): this {
    return this.elements(op, spec);
  }

  deleteElements(spec: ElementsSpec): this {
    return this.elements('delete', spec);
  }

  private elements(op: NativeBatchOp, spec: ElementsSpec): this {
    const f = family(spec);
    checkName(spec.set, 'set');
    if (!(spec.keys instanceof Uint8Array)) invalid('keys', 'a Uint8Array', spec.keys);
    if (!Number.isInteger(spec.keyLen) || spec.keyLen <= 0 || spec.keys.length % spec.keyLen !== 0) {
      invalid('keyLen', `a length that divides the ${spec.keys.length} key bytes`, spec.keyLen);
    }
    const count = spec.keys.length / spec.keyLen;
    if (count === 0) return this;
    const message: NativeBatchMessage = {
      kind: 'elements', op, family: f, table: spec.table, set: spec.set, keyLen: spec.keyLen, count, keys: spec.keys,
    };
    if (spec.keyEnds !== undefined) {
      if (!(spec.keyEnds instanceof Uint8Array) || spec.keyEnds.length !== spec.keys.length) {
        invalid('keyEnds', `${spec.keys.length} bytes, a closing key for each key`, spec.keyEnds);
      }
      message.keyEnds = spec.keyEnds;
    }
    if (op !== 'delete' && spec.data !== undefined) {
      if (spec.dataLen === undefined || spec.data.length !== count * spec.dataLen) {
        invalid('data', `${count} values of dataLen bytes`, spec.data.length);
      }
      message.data = spec.data;
      message.dataLen = spec.dataLen;
    }
    if (op !== 'delete' && spec.verdicts !== undefined) {
      if (spec.verdicts.length !== count) invalid('verdicts', `${count} verdicts`, spec.verdicts.length);
      message.verdicts = spec.verdicts;
    }
    return this.push(message, `${op} ${count} elements of set ${spec.family} ${spec.table} ${spec.set}`);
  }
}

const EMPTY = new Uint8Array(0);

/** A safe integer as a u32 low and a u32 high half. */
function u64(out: PackedWriter, value: number): void {
  out.u32(value % 2 ** 32);
  out.u32(Math.floor(value / 2 ** 32));
}

function checkDatatypes(types: unknown, field: string): void {
  if (!Array.isArray(types) || types.length === 0 || types.length > 5 || !types.every((t) => t in DATATYPE)) {
    invalid(field, `1 to 5 of ${Object.keys(DATATYPE).join(', ')}`, types);
  }
}

function checkHandle(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) invalid(field, 'a rule handle', value);
  return value;
}

/** NFT_RULE_COMPAT_F_INV */
const COMPAT_INVERT = 2;

function checkCompatProtocol(value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 255) {
    invalid('compat.protocol', 'a protocol number from 0 to 255', value);
  }
}

function checkComment(value: unknown): string {
  if (typeof value !== 'string' || Buffer.byteLength(value) > 127 || value.includes('\0')) {
    invalid('comment', 'a comment of at most 127 bytes', value);
  }
  return value;
}

/**
 * A rule's expressions packed for the addon (the layout of NATIVE_RULE_OP
 * in src/native/nft.ts), into the buffer of its run of rules, which the addon
 * reads in one pass: reading each expression's attributes as object
 * properties cost more than the rest of a bulk commit. The codes are the addon's own, read once from
 * it. Values are checked here against their attribute's kind; the addon
 * checks the bounds the kernel sets. An encoder that knows its expressions'
 * shapes packs them itself with the codes of exprCodes, building no
 * expression objects (src/iptnft/encode.ts); unpackExprs reads packed
 * expressions back as objects, for whoever compares them with the kernel's.
 */
import { invalid } from '../errors';
import { binding } from '../native/binding';
import type { NativeExprAttrKind } from '../native/nft';
import type { PackedWriter } from '../native/packed-writer';
import type { NftExpr } from './expr';

interface TypeCodes {
  code: number;
  attributes: Map<string, { code: number; kind: NativeExprAttrKind }>;
}

let layout: Map<string, TypeCodes> | undefined;

function codes(): Map<string, TypeCodes> {
  if (layout) return layout;
  const { types, attributes } = binding.nftExprLayout;
  layout = new Map(types.map((type, code) => [type, { code, attributes: new Map() }]));
  attributes.forEach(({ type, name, kind }, code) => layout!.get(type)!.attributes.set(name, { code, kind }));
  return layout;
}

/** The codes of an expression type and of its attributes by name. */
export type ExprCodes<A extends string> = { readonly type: number } & { readonly [name in A]: number };

/**
 * The codes of `type` and of the attributes named, for an encoder that packs
 * expressions itself: each attribute must be of the kind the encoder writes.
 */
export function exprCodes<A extends string>(type: string, kinds: Readonly<Record<A, NativeExprAttrKind>>): ExprCodes<A> {
  const typeCodes = codes().get(type);
  if (typeCodes === undefined) throw new Error(`the addon packs no expression ${type}`);
  const result: Record<string, number> = { type: typeCodes.code };
  for (const name in kinds) {
    const attribute = typeCodes.attributes.get(name);
    if (attribute?.kind !== kinds[name]) throw new Error(`the addon packs ${type}.${name} as ${attribute?.kind ?? 'nothing'}, not ${kinds[name]}`);
    result[name] = attribute.code;
  }
  return result as ExprCodes<A>;
}

/**
 * The expressions packed at `offset` of `bytes` (a count, then each, as
 * packExprs writes them) as the objects they were packed from.
 */
export function unpackExprs(bytes: Uint8Array, offset: number): NftExpr[] {
  const { types, attributes } = binding.nftExprLayout;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = offset;
  const u32 = () => {
    at += 4;
    return view.getUint32(at - 4, true);
  };
  // A copy, as plain as the bytes given to packExprs: `bytes` may be a Buffer, whose slices share its memory.
  const slice = (length: number) => new Uint8Array(bytes.subarray(at, (at += length)));
  const exprs: NftExpr[] = [];
  for (let count = view.getUint16((at += 2) - 2, true); count > 0; count--) {
    const e: NftExpr = { type: types[bytes[at++]!]! };
    for (let attributeCount = bytes[at++]!; attributeCount > 0; attributeCount--) {
      const { name, kind } = attributes[bytes[at++]!]!;
      switch (kind) {
        case 'u8': e[name] = bytes[at++]!; break;
        case 'u32': e[name] = u32(); break;
        case 's32': e[name] = u32() | 0; break;
        case 'u64': e[name] = BigInt(u32()) | (BigInt(u32()) << 32n); break;
        case 'string':
        case 'xtName': e[name] = Buffer.from(slice(bytes[at++]!)).toString('utf8'); break;
        case 'bytes':
        case 'xtInfo': e[name] = slice(view.getUint16((at += 2) - 2, true)); break;
      }
    }
    exprs.push(e);
  }
  return exprs;
}

/** The count of `exprs`, then each; a value that is not of its attribute's kind fails as `field[i].name`. */
export function packExprs(out: PackedWriter, exprs: readonly NftExpr[], field: string): void {
  if (exprs.length > 0xffff) invalid(field, 'at most 65,535 expressions', exprs.length);
  out.u16(exprs.length);
  exprs.forEach((e, i) => packExpr(out, e, `${field}[${i}]`));
}

function packExpr(out: PackedWriter, e: NftExpr, field: string): void {
  if (typeof e !== 'object' || e === null) invalid(field, 'an expression object', e);
  const type = codes().get(e.type);
  if (type === undefined) invalid(`${field}.type`, `one of ${[...codes().keys()].join(', ')}`, e.type);
  out.u8(type.code);
  const countAt = out.length;
  out.u8(0);
  let count = 0;
  // for...in walks the keys without building an array of them: 8 expressions a rule, 30,000 rules a bulk.
  for (const name in e) {
    const value = e[name];
    if (name === 'type' || value === undefined) continue;
    const attribute = type.attributes.get(name);
    if (attribute === undefined) invalid(`${field}.${name}`, `an attribute of ${e.type}: ${[...type.attributes.keys()].join(', ')}`, name);
    out.u8(attribute.code);
    packValue(out, attribute.kind, value, `${field}.${name}`);
    count++;
  }
  out.setU8(countAt, count);
}

const U32_MAX = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;

function packValue(out: PackedWriter, kind: NativeExprAttrKind, value: unknown, field: string): void {
  switch (kind) {
    case 'u8':
      out.u8(integer(value, 0, 0xff, field));
      return;
    case 'u32':
      out.u32(integer(value, 0, U32_MAX, field));
      return;
    case 's32':
      out.u32(integer(value, -(2 ** 31), 2 ** 31 - 1, field) >>> 0);
      return;
    case 'u64': {
      const number = typeof value === 'bigint' ? value : BigInt(integer(value, 0, Number.MAX_SAFE_INTEGER, field));
      if (number < 0n || number > U64_MAX) invalid(field, 'an integer from 0 to 2^64 - 1', value);
      out.u32(Number(number & 0xffffffffn));
      out.u32(Number(number >> 32n));
      return;
    }
    case 'string':
    case 'xtName':
      if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) > 0xff || value.includes('\0')) {
        invalid(field, 'a name of 1 to 255 bytes without NUL', value);
      }
      out.text(value);
      return;
    case 'bytes':
    case 'xtInfo':
      if (!(value instanceof Uint8Array) || value.length > 0xffff) invalid(field, 'a Uint8Array of at most 65,535 bytes', value);
      out.u16(value.length);
      out.bytes(value);
      return;
  }
}

function integer(value: unknown, min: number, max: number, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(field, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

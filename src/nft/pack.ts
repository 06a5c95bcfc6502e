/**
 * A rule's expressions packed for the addon (the layout of NATIVE_RULE_OP
 * in src/native/nft.ts), into the buffer of its run of rules, which the addon
 * reads in one pass: reading each expression's attributes as object
 * properties cost more than the rest of a bulk commit. The codes are the addon's own, read once from
 * it. Values are checked here against their attribute's kind; the addon
 * checks the bounds the kernel sets.
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

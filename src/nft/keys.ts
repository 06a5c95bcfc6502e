/**
 * Set keys and map data as the kernel stores them: each component of a
 * concatenation in its own 32-bit-aligned slot, values in network byte order.
 * Thousands of elements are packed into one buffer, not one object each.
 */
import { parseAddress } from '../address';
import { invalid } from '../errors';
import { DATATYPE, DATATYPE_LEN, type NftDatatype } from './constants';
import { ifnameBytes } from './match';

/** nft's number for a (possibly concatenated) datatype: 6 bits per component. */
export function datatypeOf(types: readonly NftDatatype[]): number {
  return types.reduce((combined, type) => (combined << 6) | DATATYPE[type], 0);
}

const slot = (type: NftDatatype): number => (DATATYPE_LEN[type] + 3) & ~3;

/** Bytes per key or value of the (possibly concatenated) datatype. */
export function lengthOf(types: readonly NftDatatype[]): number {
  return types.length === 1 ? DATATYPE_LEN[types[0]!] : types.reduce((sum, type) => sum + slot(type), 0);
}

/** Types nft stores in host byte order; the rest are network (big endian). */
const HOST_ORDER: ReadonlySet<NftDatatype> = new Set(['ifname', 'string', 'mark', 'integer']);

/** nft's byte order hint for a set key or map value: 1 host, 2 big endian. */
export function byteorderOf(types: readonly NftDatatype[]): 1 | 2 {
  return types.length === 1 && HOST_ORDER.has(types[0]!) ? 1 : 2;
}

export type KeyPart = string | number;

/** Packs values of one (concatenated) datatype back to back. */
export class KeyPacker {
  readonly length: number;
  /** Where each part goes within a key. */
  private readonly offsets: number[];
  private storage: Uint8Array;
  private used = 0;

  constructor(readonly types: readonly NftDatatype[], capacity = 16) {
    this.length = lengthOf(types);
    this.offsets = [];
    let offset = 0;
    for (const type of types) {
      this.offsets.push(offset);
      offset += types.length === 1 ? DATATYPE_LEN[type] : slot(type);
    }
    this.storage = new Uint8Array(this.length * Math.max(1, capacity));
  }

  get count(): number {
    return this.used / this.length;
  }

  /** The buffer the keys are packed in, from its start: valid up to count × length bytes, replaced when it grows. */
  get buffer(): Uint8Array {
    return this.storage;
  }

  add(parts: readonly KeyPart[]): this {
    if (parts.length !== this.types.length) invalid('key', `${this.types.length} parts (${this.types.join(' . ')})`, parts);
    if (this.used + this.length > this.storage.length) {
      const grown = new Uint8Array(this.storage.length * 2);
      grown.set(this.storage);
      this.storage = grown;
    }
    this.write(this.used / this.length, parts);
    this.used += this.length;
    return this;
  }

  /** Packs `parts` over key `index`, one of those added. */
  set(index: number, parts: readonly KeyPart[]): this {
    if (parts.length !== this.types.length) invalid('key', `${this.types.length} parts (${this.types.join(' . ')})`, parts);
    if (!Number.isInteger(index) || index < 0 || index >= this.count) invalid('index', `a key's index below ${this.count}`, index);
    this.write(index, parts);
    return this;
  }

  /** Takes back the last key added. */
  pop(): this {
    if (this.used > 0) this.storage.fill(0, (this.used -= this.length), this.used + this.length);
    return this;
  }

  /** The packed bytes (a view, not a copy). */
  bytes(): Uint8Array {
    return this.storage.subarray(0, this.used);
  }

  private write(index: number, parts: readonly KeyPart[]): void {
    const at = index * this.length;
    for (let i = 0; i < parts.length; i++) writePart(this.storage, at + this.offsets[i]!, this.types[i]!, parts[i]!);
  }
}

function writePart(target: Uint8Array, offset: number, type: NftDatatype, value: KeyPart): void {
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      target.set(parseAddress(value, 'key', type === 'ipv4_addr' ? 'ipv4' : 'ipv6').bytes, offset);
      return;
    case 'inet_service':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff) invalid('key', 'a port', value);
      target[offset] = value >> 8;
      target[offset + 1] = value & 0xff;
      return;
    case 'inet_proto':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xff) invalid('key', 'a protocol number', value);
      target[offset] = value;
      return;
    case 'ifname':
    case 'string':
      if (typeof value !== 'string') invalid('key', 'a name', value);
      target.set(ifnameBytes(value), offset);
      return;
    default:
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) invalid('key', 'a 32-bit number', value);
      // Host byte order (little endian here), as nft writes marks and integers.
      target[offset] = value & 0xff;
      target[offset + 1] = (value >>> 8) & 0xff;
      target[offset + 2] = (value >>> 16) & 0xff;
      target[offset + 3] = value >>> 24;
  }
}

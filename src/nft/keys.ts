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
  /**
   * Per part, the last text packed there and its bytes: the addresses and
   * names of a set's keys repeat from one key to the next (a container's
   * ports), and are parsed once for the run.
   */
  private readonly lastTexts: (string | undefined)[];
  private readonly lastBytes: Uint8Array[];
  private buffer: Uint8Array;
  private used = 0;

  constructor(readonly types: readonly NftDatatype[], capacity = 16) {
    this.length = lengthOf(types);
    this.offsets = [];
    let offset = 0;
    for (const type of types) {
      this.offsets.push(offset);
      offset += types.length === 1 ? DATATYPE_LEN[type] : slot(type);
    }
    this.lastTexts = types.map(() => undefined);
    this.lastBytes = types.map(() => EMPTY);
    this.buffer = new Uint8Array(this.length * Math.max(1, capacity));
  }

  get count(): number {
    return this.used / this.length;
  }

  add(parts: readonly KeyPart[]): this {
    if (parts.length !== this.types.length) invalid('key', `${this.types.length} parts (${this.types.join(' . ')})`, parts);
    this.reserve(1);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const offset = this.used + this.offsets[i]!;
      if (typeof part === 'number') writeNumber(this.buffer, offset, this.types[i]!, part);
      else {
        if (part !== this.lastTexts[i]) {
          this.lastBytes[i] = textBytes(this.types[i]!, part);
          this.lastTexts[i] = part;
        }
        this.buffer.set(this.lastBytes[i]!, offset);
      }
    }
    this.used += this.length;
    return this;
  }

  /**
   * Adds one key a port: `prefix` and the port, which ends the key. The
   * prefix is packed once, with the first port: a run of bindings' keys
   * differ only in the port (BindingRun).
   */
  addPortRun(prefix: readonly KeyPart[], ports: readonly number[]): void {
    if (ports.length === 0) return;
    const last = this.types.length - 1;
    if (this.types[last] !== 'inet_service') invalid('key', `a key ending with a port (${this.types.join(' . ')})`, prefix);
    const start = this.used;
    this.add([...prefix, ports[0]!]);
    this.reserve(ports.length - 1);
    // The first key copied into every place, doubling what is copied each time; then each place's port written.
    const end = start + ports.length * this.length;
    for (let filled = this.length; start + filled < end; filled *= 2) {
      this.buffer.copyWithin(start + filled, start, Math.min(start + filled, end - filled));
    }
    writePorts(this.buffer, start + this.offsets[last]!, this.length, ports);
    this.used = end;
  }

  /** The packed bytes (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.used);
  }

  /** Room for `count` more keys. */
  private reserve(count: number): void {
    const needed = this.used + count * this.length;
    if (needed <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, needed));
    grown.set(this.buffer.subarray(0, this.used));
    this.buffer = grown;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Writes each port but the first, big endian, `stride` bytes apart from
 * `at`. A loop of its own: the one part of a run that runs per port, it is
 * what the JIT compiles, not the key packing around it (a fresh process's
 * compiler threads share its cores with the commit).
 */
function writePorts(buffer: Uint8Array, at: number, stride: number, ports: readonly number[]): void {
  for (let i = 1; i < ports.length; i++) {
    const port = ports[i]!;
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) invalid('key', 'a port', port);
    buffer[at + i * stride] = port >> 8;
    buffer[at + i * stride + 1] = port & 0xff;
  }
}

/** The bytes of an address or name (shared: read them, or copy). */
function textBytes(type: NftDatatype, value: string): Uint8Array {
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
      return parseAddress(value, 'key', type === 'ipv4_addr' ? 'ipv4' : 'ipv6').bytes;
    case 'ifname':
    case 'string':
      if (typeof value !== 'string') invalid('key', 'a name', value);
      return ifnameBytes(value);
    default:
      invalid('key', `a number (${type})`, value);
  }
}

function writeNumber(target: Uint8Array, offset: number, type: NftDatatype, value: number): void {
  switch (type) {
    case 'ipv4_addr':
    case 'ipv6_addr':
    case 'ifname':
    case 'string':
      invalid('key', type === 'ipv4_addr' || type === 'ipv6_addr' ? 'an address' : 'a name', value);
    case 'inet_service':
      if (!Number.isInteger(value) || value < 0 || value > 0xffff) invalid('key', 'a port', value);
      target[offset] = value >> 8;
      target[offset + 1] = value & 0xff;
      return;
    case 'inet_proto':
      if (!Number.isInteger(value) || value < 0 || value > 0xff) invalid('key', 'a protocol number', value);
      target[offset] = value;
      return;
    default:
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) invalid('key', 'a 32-bit number', value);
      // Host byte order (little endian here), as nft writes marks and integers.
      target[offset] = value & 0xff;
      target[offset + 1] = (value >>> 8) & 0xff;
      target[offset + 2] = (value >>> 16) & 0xff;
      target[offset + 3] = value >>> 24;
  }
}

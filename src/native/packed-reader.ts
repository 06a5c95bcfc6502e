/**
 * Reads little-endian integers, bytes and short texts from one buffer of the
 * packed layouts of the private binding (the dumps of src/native/iptc.ts):
 * the reading half of PackedWriter. It trusts the native writer's values,
 * but a read past the end throws rather than returning garbage.
 */
export class PackedReader {
  readonly buffer: Buffer;
  private offset = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  u8(): number {
    this.need(1, 'a u8');
    return this.buffer[this.offset++]!;
  }

  u16(): number {
    this.need(2, 'a u16');
    const value = this.buffer[this.offset]! | (this.buffer[this.offset + 1]! << 8);
    this.offset += 2;
    return value;
  }

  u32(): number {
    this.need(4, 'a u32');
    const value = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): bigint {
    this.need(8, 'a u64');
    const low = this.buffer.readUInt32LE(this.offset);
    const high = this.buffer.readUInt32LE(this.offset + 4);
    this.offset += 8;
    // Counters are mostly 0: one shared value rather than a BigInt each.
    return low === 0 && high === 0 ? 0n : (BigInt(high) << 32n) | BigInt(low);
  }

  /** The next `length` bytes, a view of the buffer. */
  bytes(length: number): Buffer {
    const start = this.skip(length, 'bytes');
    return this.buffer.subarray(start, start + length);
  }

  /** Passes over `length` bytes and returns their offset, for callers that read them in place. */
  skip(length: number, what = 'bytes'): number {
    this.need(length, `${length} ${what}`);
    const start = this.offset;
    this.offset += length;
    return start;
  }

  /** A u8 byte length and as many UTF-8 bytes. */
  text(): string {
    const length = this.u8();
    const start = this.skip(length, 'text bytes');
    return this.buffer.toString('utf8', start, start + length);
  }

  /** Throws unless every byte was read. */
  end(): void {
    const left = this.buffer.length - this.offset;
    if (left !== 0) throw new RangeError(`packed bytes: ${left} bytes after the end, at offset ${this.offset}`);
  }

  private need(count: number, what: string): void {
    const left = this.buffer.length - this.offset;
    if (count > left) throw new RangeError(`packed bytes: ${what} at offset ${this.offset} runs past the end, where ${left} bytes remain`);
  }
}

/**
 * Writes little-endian integers, bytes and short texts into one buffer that
 * grows by doubling, for the packed layouts of the private binding (the
 * operations of src/native/iptc.ts). It checks nothing: callers have
 * validated every value, and the native reader checks every byte again.
 */
export class PackedWriter {
  private buffer: Buffer;
  private end = 0;

  /** `estimate`: the bytes expected, so that most writes never grow the buffer. */
  constructor(estimate: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(64, estimate));
  }

  /** How many bytes are written: the offset of the next write. */
  get length(): number {
    return this.end;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.end++] = value;
  }

  u16(value: number): void {
    this.reserve(2);
    this.buffer[this.end++] = value & 0xff;
    this.buffer[this.end++] = value >>> 8;
  }

  u32(value: number): void {
    this.reserve(4);
    this.end = this.buffer.writeUInt32LE(value, this.end);
  }

  bytes(bytes: Uint8Array): void {
    this.copy(bytes, 0, bytes.length);
  }

  /** `source` from `start` to `end`: bytes packed before, copied as they are. */
  copy(source: Uint8Array, start: number, end: number): void {
    const length = end - start;
    this.reserve(length);
    // Addresses are 4 or 16 bytes: a loop beats TypedArray.set at that size, not at the size of xt infos or packed rules.
    if (length > 32) {
      this.buffer.set(source.subarray(start, end), this.end);
      this.end += length;
      return;
    }
    for (let i = start; i < end; i++) this.buffer[this.end++] = source[i]!;
  }

  /** A u8 byte length and the UTF-8 bytes of `text`, which callers keep to 255 bytes. */
  text(text: string): void {
    this.reserve(1 + 3 * text.length);
    const start = this.end + 1;
    let length = 0;
    // Names are ASCII nearly always, and copying them here beats a call into Buffer.write.
    while (length < text.length) {
      const code = text.charCodeAt(length);
      if (code >= 0x80) {
        length = this.buffer.write(text, start, 'utf8');
        break;
      }
      this.buffer[start + length++] = code;
    }
    this.buffer[this.end] = length;
    this.end = start + length;
  }

  /** Overwrites the u8 written at `offset`: a set of bits known only once what follows it is written. */
  setU8(offset: number, value: number): void {
    this.buffer[offset] = value;
  }

  /** Overwrites the u16 written at `offset`: a count known only once what follows it is written. */
  setU16(offset: number, value: number): void {
    this.buffer[offset] = value & 0xff;
    this.buffer[offset + 1] = value >>> 8;
  }

  /** Forgets what was written from `offset` on: a record refused half-way. */
  truncate(offset: number): void {
    this.end = Math.min(this.end, offset);
  }

  /** The bytes written (a view of the writer's buffer, which the writer no longer touches). */
  finish(): Buffer {
    return this.buffer.subarray(0, this.end);
  }

  private reserve(bytes: number): void {
    if (this.end + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.end + bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.end);
    this.buffer = grown;
  }
}

/**
 * A set's elements found by their identity as the kernel knows it, the
 * packed bytes of their key (and, in a set of ranges, of the key that closes
 * the range): a hash table of element numbers, so that tens of thousands of
 * elements are told apart, or matched with another set's, without a string
 * or an object each.
 */

/** Packed keys: element i's key is `keys` from i × keyLen, its closing key (sets of ranges) `keyEnds` from there. */
export interface PackedKeys {
  readonly keyLen: number;
  readonly keys: Uint8Array;
  readonly keyEnds?: Uint8Array | undefined;
}

const EMPTY = 0;

export class ElementIndex {
  /** Element number + 1 per slot, EMPTY where none; a power of two long, at most half full. */
  private slots: Int32Array;
  /** The hash of each element indexed, by its number: the table grows without hashing again. */
  private hashes: Uint32Array;
  private count = 0;

  constructor(capacity = 16) {
    this.slots = new Int32Array(slotCount(capacity));
    this.hashes = new Uint32Array(Math.max(16, capacity));
  }

  /**
   * Indexes element `i` of `keys` unless one of the same identity is indexed
   * already: returns that one's number, else `i`. Elements are indexed in
   * the order of their numbers.
   */
  insert(keys: PackedKeys, i: number): number {
    const hash = hashOf(keys, i);
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (let held = this.slots[slot]!; held !== EMPTY; held = this.slots[slot = (slot + 1) & mask]!) {
      if (this.hashes[held - 1] === hash && sameIdentity(keys, held - 1, keys, i)) return held - 1;
    }
    this.slots[slot] = i + 1;
    if (i >= this.hashes.length) {
      const grown = new Uint32Array(Math.max(i + 1, this.hashes.length * 2));
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[i] = hash;
    if (++this.count * 2 > this.slots.length) this.grow();
    return i;
  }

  /** The number of the element of `indexed` (the keys this index was built on) with the identity of `other`'s element `j`, or -1. */
  find(indexed: PackedKeys, other: PackedKeys, j: number): number {
    const hash = hashOf(other, j);
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (let held = this.slots[slot]!; held !== EMPTY; held = this.slots[slot = (slot + 1) & mask]!) {
      if (this.hashes[held - 1] === hash && sameIdentity(indexed, held - 1, other, j)) return held - 1;
    }
    return -1;
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (const held of this.slots) {
      if (held === EMPTY) continue;
      let slot = this.hashes[held - 1]! & mask;
      while (slots[slot] !== EMPTY) slot = (slot + 1) & mask;
      slots[slot] = held;
    }
    this.slots = slots;
  }
}

/** All of `keys` indexed (a set's elements are distinct). */
export function indexOf(keys: PackedKeys, count: number): ElementIndex {
  const index = new ElementIndex(count);
  for (let i = 0; i < count; i++) index.insert(keys, i);
  return index;
}

function slotCount(capacity: number): number {
  let slots = 16;
  while (slots < capacity * 2) slots *= 2;
  return slots;
}

/** FNV-1a over the key's bytes and the closing key's, then mixed, as the table uses the low bits. */
function hashOf(keys: PackedKeys, i: number): number {
  const { keyLen, keys: bytes, keyEnds } = keys;
  let hash = 0x811c9dc5;
  for (let at = i * keyLen, end = at + keyLen; at < end; at++) hash = Math.imul(hash ^ bytes[at]!, 0x01000193);
  if (keyEnds !== undefined) {
    for (let at = i * keyLen, end = at + keyLen; at < end; at++) hash = Math.imul(hash ^ keyEnds[at]!, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  return (hash ^ (hash >>> 13)) >>> 0;
}

function sameIdentity(a: PackedKeys, i: number, b: PackedKeys, j: number): boolean {
  const length = a.keyLen;
  if (!sameBytes(a.keys, i * length, b.keys, j * length, length)) return false;
  return a.keyEnds === undefined || b.keyEnds === undefined || sameBytes(a.keyEnds, i * length, b.keyEnds, j * length, length);
}

/** Whether `length` bytes of `a` from `at` equal those of `b` from `bt`. */
export function sameBytes(a: Uint8Array, at: number, b: Uint8Array, bt: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (a[at + k] !== b[bt + k]) return false;
  return true;
}

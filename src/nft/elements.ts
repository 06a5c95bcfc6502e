/**
 * Set elements packed as the kernel stores them (KeyPacker's layout), matched
 * by their bytes: an element is its key (and, in a set of ranges, the key
 * that closes its range), and a map's element has a value. The addon matches
 * them, so comparing two sets of tens of thousands of elements builds no
 * string or object per element, in a process's first call as in its last.
 */
import { callNativeSync } from '../errors';
import { binding } from '../native/binding';
import type { NativePackedElements } from '../native/nft';

/** `count` elements: keys (and closing keys) of keyLen bytes each, and a map's data of dataLen bytes each. */
export type PackedElements = Readonly<NativePackedElements>;

/** matchElements' answer for an element whose key `have` holds with another value (`i`: that element's number). */
export function otherValue(i: number): number {
  return -2 - i;
}

/** matchElements' answer for an element whose key `have` does not hold. */
export const NO_KEY = -1;

/**
 * null when `have` and `want` hold the same elements: each element of `want`
 * has one of `have` of its own with its key and value, and `have` holds no
 * other. Else, for each element j of `want`, i when element i of `have`
 * (the first there with that key) has j's key and value, otherValue(i) when
 * it has j's key with another value, NO_KEY when no element of `have` has
 * j's key. Both must be packed alike: one key length, closing keys in both
 * or neither, one data length or none (else EINVAL).
 */
export function matchElements(have: PackedElements, want: PackedElements): Int32Array | null {
  return callNativeSync(() => binding.nftMatchElements(have, want));
}

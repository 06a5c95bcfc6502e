/**
 * One of our tables as plain data: chains with their rules, sets and maps
 * with their elements (packed, and by their nft text when shown: see
 * set-elements.ts). The plan builds the desired image from the model, the
 * kernel's read-back is decoded into the same shape, and the diff compares
 * the two.
 */
import type { NativeVerdict } from '../../native/nft.js';
import type { NftDatatype, NftFamily, NftHook, NftPolicy } from '../../nft/constants.js';
import type { KeyPart } from '../../nft/keys.js';
import type { NftExpr } from '../../nft/expr.js';
import type { PacketCounter } from '../counters.js';
import type { SetElements } from './set-elements.js';

export interface BaseChain {
  type: 'filter' | 'nat';
  hook: NftHook;
  priority: number;
  policy: NftPolicy;
}

export interface RuleImage {
  /** Expressions and comment in a canonical form: equal signatures are equal rules. */
  signature: string;
  exprs: NftExpr[];
  comment?: string;
  /** nft syntax; only rules we planned have it. */
  text?: string;
}

export interface ChainImage {
  name: string;
  base?: BaseChain;
  /** The user's chain (DOCKER-USER): created if missing, its rules never touched. */
  userOwned: boolean;
  rules: RuleImage[];
}

export type SetData = readonly NftDatatype[] | 'verdict';

export interface ElementImage {
  key: readonly KeyPart[];
  /** Interval sets: the key that closes the element's range (the port part differs). */
  keyEnd?: readonly KeyPart[];
  value?: readonly KeyPart[];
  verdict?: NativeVerdict;
  /** The value (or verdict) in nft syntax: equal text, equal element. */
  valueText?: string;
  /** Read back from a set with a counter: what matched the element since it was added. */
  counter?: PacketCounter;
}

export interface SetImage {
  name: string;
  key: readonly NftDatatype[];
  data?: SetData;
  /** Elements are ranges (`flags interval`). */
  interval?: boolean;
  /** Each element counts the packets and bytes that matched it (nft's `counter` in a set). */
  counter?: boolean;
  elements: SetElements;
}

export interface TableImage {
  family: NftFamily;
  name: string;
  chains: Map<string, ChainImage>;
  sets: Map<string, SetImage>;
}

export function emptyImage(family: NftFamily, name: string): TableImage {
  return { family, name, chains: new Map(), sets: new Map() };
}

/** A canonical text of expressions: attributes sorted, bytes in hex; what a counter counted is not the rule's. */
export function signatureOf(exprs: readonly NftExpr[], comment: string | undefined): string {
  const canonical = exprs.map((e) => e.type === 'counter' ? 'type=counter' :
    Object.keys(e).sort().map((k) => {
      const v = e[k]!;
      return `${k}=${v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : String(v)}`;
    }).join(','));
  return `${canonical.join(';')}#${comment ?? ''}`;
}

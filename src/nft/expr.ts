/**
 * Raw nftables expressions, one constructor per kernel expression. Rules are
 * lists of these; src/nft/match.ts composes them into what nft users write.
 */
import type { NativeExpr } from '../native/nft';
import { CMP, REG_VERDICT } from './constants';

export type NftExpr = NativeExpr;
export type CmpOp = keyof typeof CMP;

export const expr = {
  meta: (key: number, dreg: number): NftExpr => ({ type: 'meta', key, dreg }),
  payload: (base: number, offset: number, len: number, dreg: number): NftExpr => ({
    type: 'payload', base, offset, len, dreg,
  }),
  cmp: (sreg: number, op: CmpOp, data: Uint8Array): NftExpr => ({ type: 'cmp', sreg, op: CMP[op], data }),
  bitwise: (sreg: number, dreg: number, mask: Uint8Array, xor: Uint8Array): NftExpr => ({
    type: 'bitwise', sreg, dreg, len: mask.length, mask, xor,
  }),
  lookup: (set: string, sreg: number, options: { dreg?: number; invert?: boolean } = {}): NftExpr => ({
    type: 'lookup', set, sreg,
    ...(options.dreg !== undefined ? { dreg: options.dreg } : {}),
    ...(options.invert ? { flags: 1 } : {}),
  }),
  immediate: (dreg: number, data: Uint8Array): NftExpr => ({ type: 'immediate', dreg, data }),
  verdict: (code: number, chain?: string): NftExpr => ({
    type: 'immediate', dreg: REG_VERDICT, verdict: code, ...(chain !== undefined ? { chain } : {}),
  }),
  /** `op` 0 ntoh, 1 hton, on `len` bytes in units of `size`. */
  byteorder: (sreg: number, dreg: number, op: number, len: number, size: number): NftExpr => ({ type: 'byteorder', sreg, dreg, op, len, size }),
  counter: (): NftExpr => ({ type: 'counter', packets: 0, bytes: 0 }),
  ct: (key: number, dreg: number): NftExpr => ({ type: 'ct', key, dreg }),
  fib: (flags: number, result: number, dreg: number): NftExpr => ({ type: 'fib', flags, result, dreg }),
  /** `natType` is NAT_TYPE.snat or NAT_TYPE.dnat; registers hold the address and port. */
  nat: (fields: {
    natType: number; family: number; regAddrMin?: number; regAddrMax?: number; regProtoMin?: number;
    regProtoMax?: number; flags?: number;
  }): NftExpr => ({ type: 'nat', ...fields }),
  masq: (fields: { flags?: number; regProtoMin?: number; regProtoMax?: number } = {}): NftExpr => ({
    type: 'masq', ...fields,
  }),
  /** nft_compat: an xt match (iptables' `-m NAME`) by name, revision and info bytes. */
  xtMatch: (name: string, rev: number, info: Uint8Array): NftExpr => ({ type: 'match', name, rev, info }),
  /** nft_compat: an xt target (iptables' `-j NAME`) by name, revision and info bytes. */
  xtTarget: (name: string, rev: number, info: Uint8Array): NftExpr => ({ type: 'target', name, rev, info }),
};

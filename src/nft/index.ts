/** The low-level nftables API: batches, connections, expressions and set keys. */
export * from './constants';
export { NftBatch, type ChainSpec, type ElementsSpec, type RuleCompat, type RuleSpec, type SetSpec, type TableRef } from './batch';
export { NftConnection, type ConnectionOptions, type NftCommit, type NftTableInfo, type NftTableState } from './connection';
export { expr, type CmpOp, type NftExpr } from './expr';
export { KeyPacker, byteorderOf, datatypeOf, lengthOf, type KeyPart } from './keys';
export { match, statement, REG_1, REG_2, type L4Protocol, type Negatable } from './match';

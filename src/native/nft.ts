/**
 * Private types of the addon's nftables half: what src/nft hands to C++ and
 * what it gets back. Values are plain and already validated.
 */

export type NativeBatchOp = 'add' | 'create' | 'insert' | 'replace' | 'delete' | 'flush';

/** One nftables expression: its libnftnl name and attributes (see native/nft/expressions.cc). */
export interface NativeExpr {
  type: string;
  [attribute: string]: string | number | bigint | Uint8Array;
}

/**
 * Rules travel packed, little endian, one after the other:
 *
 *     rule        u8 op (NATIVE_RULE_OP), u8 family, text table, text chain,
 *                 u8 fields (NATIVE_RULE_FIELD), then the fields present in this order:
 *                 u64 handle (the rule to replace or delete), u64 position (add after,
 *                 insert before this handle), text comment, u8 compat protocol and
 *                 u8 compat flags (NFTA_RULE_COMPAT), expressions
 *     text        u8 length, bytes
 *     u64         u32 low, u32 high
 *     expressions u16 count, then each expression
 *     expression  u8 type (an index into NativeExprLayout's `types`), u8 attribute count, attributes
 *     attribute   u8 code (an index into `attributes`, one of the expression's type),
 *                 then by its kind: u8; u32 and s32: u32; u64; string and xtName: text;
 *                 bytes and xtInfo: u16 length, bytes
 */
export const NATIVE_RULE_OP = { add: 0, create: 1, insert: 2, replace: 3, delete: 4 } as const;

export const NATIVE_RULE_FIELD = { handle: 1, position: 2, comment: 4, compat: 8, exprs: 16 } as const;

/** What the codes of packed expressions stand for, as the addon gives it. */
export interface NativeExprLayout {
  types: readonly string[];
  attributes: readonly { type: string; name: string; kind: NativeExprAttrKind }[];
}

export type NativeExprAttrKind = 'u8' | 'u32' | 's32' | 'u64' | 'string' | 'bytes' | 'xtName' | 'xtInfo';

export interface NativeVerdict {
  code: number;
  chain?: string;
}

export type NativeBatchMessage =
  | { kind: 'table'; op: NativeBatchOp; family: number; name: string; flags?: number }
  | {
      kind: 'chain';
      op: NativeBatchOp;
      family: number;
      table: string;
      name: string;
      hook?: number;
      priority?: number;
      type?: string;
      policy?: number;
    }
  | {
      /** A run of rules, packed (NATIVE_RULE_OP): each one batch object. */
      kind: 'rules';
      rules: Uint8Array;
    }
  | {
      kind: 'set';
      op: NativeBatchOp;
      family: number;
      table: string;
      name: string;
      id?: number;
      flags?: number;
      keyType?: number;
      keyLen?: number;
      dataType?: number;
      dataLen?: number;
      policy?: number;
      /** nft's byte order hints: 1 host, 2 big endian. */
      keyByteorder?: number;
      dataByteorder?: number;
      /** NFTA_SET_DESC_CONCAT: the byte length of each field of a concatenated key. */
      concat?: readonly number[];
      comment?: string;
      /** A counter expression on the set, copied into every element. */
      counter?: boolean;
    }
  | {
      kind: 'elements';
      op: NativeBatchOp;
      family: number;
      table: string;
      set: string;
      keyLen: number;
      count: number;
      keys: Uint8Array;
      /** Interval sets with a concatenated key: each element's closing key (NFTA_SET_ELEM_KEY_END). */
      keyEnds?: Uint8Array;
      dataLen?: number;
      data?: Uint8Array;
      verdicts?: readonly NativeVerdict[];
    };

export interface NativeTable {
  name: string;
  family: number;
  flags: number;
  handle: number;
}

export interface NativeChain {
  name: string;
  handle: number;
  use: number;
  hook?: number;
  priority?: number;
  type?: string;
  policy?: number;
}

export interface NativeRule {
  chain: string;
  handle: number;
  /** Empty for a rule read as `known`. */
  exprs: NativeExpr[];
  comment?: string;
  /** A rule whose handle the read was told it knows: read without its expressions, only its counter's values. */
  known?: true;
  packets?: number;
  bytes?: number;
}

export interface NativeSet {
  name: string;
  handle: number;
  flags: number;
  keyType: number;
  keyLen: number;
  dataType?: number;
  dataLen?: number;
  comment?: string;
  /** Declared with a counter: `counters` holds each element's packets and bytes, u64 big endian. */
  counter?: boolean;
  counters?: Buffer;
  count: number;
  keys: Buffer;
  /** Closing keys, when the set's elements have them (ranges of a concatenated interval set). */
  keyEnds?: Buffer;
  data?: Buffer;
  verdicts?: NativeVerdict[];
}

export interface NativeTableDump {
  generation: number;
  /** False when the ruleset changed during the read. */
  consistent: boolean;
  table: NativeTable | null;
  chains: NativeChain[];
  rules: NativeRule[];
  sets: NativeSet[];
}

export interface NativeNftConnection {
  generation(): Promise<number>;
  /** Resolves, per batch object (each rule of a run one), to the handle of the rule it added (add, create, insert), 0 where unknown. */
  commit(messages: readonly NativeBatchMessage[], generation: number | undefined): Promise<Float64Array>;
  /** `knownHandles`: rules dumped without their expressions (see NativeRule.known). */
  dumpTable(family: number, name: string, knownHandles?: Float64Array): Promise<NativeTableDump>;
  listTables(family: number): Promise<NativeTable[]>;
  /**
   * Dumps the connection tracking table (of each family the packed filters
   * name; src/native/conntrack.ts) and deletes every entry one of them
   * matches. Resolves to the number of entries deleted.
   */
  clearConntrack(filters: Uint8Array): Promise<number>;
  close(): void;
}

/** Set elements packed back to back (src/nft/elements.ts). */
export interface NativePackedElements {
  count: number;
  keyLen: number;
  keys: Uint8Array;
  keyEnds?: Uint8Array | undefined;
  dataLen?: number | undefined;
  data?: Uint8Array | undefined;
}

export interface NativeNftBinding {
  /** Opens a netfilter netlink socket inside the namespace at `netnsPath` ("" = the caller's). */
  openNftConnection(netnsPath: string): Promise<NativeNftConnection>;
  nftExprLayout: NativeExprLayout;
  /**
   * null when `have` and `want` hold the same elements; else for each element
   * of `want`: i, element i of `have` has its key and value; -2 - i, its key
   * and another value; -1, none has its key.
   */
  nftMatchElements(have: NativePackedElements, want: NativePackedElements): Int32Array | null;
}

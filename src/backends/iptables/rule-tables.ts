/**
 * Where the iptables backend's rules live: legacy x_tables through libiptc
 * (src/iptc/table.ts) or nf_tables as iptables-nft keeps them
 * (src/iptnft/table.ts). Both read a table back into the same rule model and
 * take the same operations, so Docker's rules are planned, read back, diffed
 * and merged once (this folder) and only reading and committing differ.
 */
import type { Family } from '../../family.js';
import type { IptTableName } from '../../iptc/rule.js';
import type { IptcTableChange, IptTableRead, ReadRuleEntry } from '../../iptc/table.js';

export interface RuleTables {
  /** The family's tables that exist; none is created by asking. */
  existingTables(family: Family): Promise<IptTableName[]>;
  /**
   * Every chain of the table in kernel order, with its rules, and the
   * fingerprint a commit checks it against. Legacy: reading creates the
   * table; iptables-nft: a missing table reads as its empty built-in chains.
   */
  readWithFingerprint(family: Family, table: IptTableName): Promise<IptTableRead<ReadRuleEntry>>;
  /**
   * All changes or none; ERESTART when a table's fingerprint no longer
   * holds (someone committed since the read). Resolves to the kernel commits
   * made: one per changed table (libiptc), or one for all (nf_tables).
   */
  commit(changes: readonly IptcTableChange[]): Promise<number>;
  /**
   * The table as this object last knew it, without reading it: as its last
   * read gave it, with this object's commits since played on it, and the
   * fingerprint a commit proves it against (a change planned from it that
   * anyone else overtook fails with ERESTART). Undefined when it knows none
   * (never read, or a commit failed since).
   */
  known(family: Family, table: IptTableName): IptTableRead<ReadRuleEntry> | undefined;
  /**
   * Whether nothing was committed (by anyone) since this object's last
   * commit; false when it cannot tell cheaply (legacy x_tables have no
   * generation).
   */
  unchangedSinceCommit(): Promise<boolean>;
  close(): void;
}

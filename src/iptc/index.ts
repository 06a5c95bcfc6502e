/** The low-level legacy iptables API: libiptc tables, their operations and the rule model. */
export { IptcTable, type IptcTableChange, type IptcTableOptions, type IptChain, type IptRuleEntry, type IptTableRead, type ReadRuleEntry } from './table';
export { describeOperation, type IptcOperation } from './operation';
export { formatRule, formatSave, formatTable, type IptChainSnapshot, type IptTableSnapshot } from './format';
export type * from './rule';
export type { DecodedRule } from './decode';

/** The low-level legacy iptables API: libiptc tables, their operations and the rule model. */
export { IptcTable, type IptcTableOptions, type IptChain, type IptRuleEntry } from './table';
export { describeOperation, type IptcOperation } from './operation';
export { formatRule, formatSave, formatTable, type IptChainSnapshot, type IptTableSnapshot } from './format';
export type * from './rule';

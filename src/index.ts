/**
 * bridgewall: Docker's bridge-network firewall rules for Node.js, programmed
 * into netfilter through a native addon. The raw addon is not exported.
 */
export { Firewall, BACKEND_NAMES, type ApplyResult, type DryRunOptions, type DryRunResult, type FirewallOptions } from './firewall';
export type { ApplyOutcome, BackendName, BackendState, DryRun } from './backends/backend';
export type { ChangeCounts, Tally } from './backends/change-counts';
export type { BindingCounters, PacketCounter } from './backends/counters';
export type { Owner, ShownBase, ShownChain, ShownElement, ShownFamily, ShownRule, ShownSet, ShownTable } from './backends/shown';
export type { ConntrackOutcome } from './conntrack';
export type { EndpointRef } from './held/held-spec';
export type { HairpinOutcome, SysctlOutcome } from './sysctl';
export { FirewallWatcher, type FirewallWatcherEvents, type WatchOptions } from './watch';
export { NetfilterError, ValidationError, type NetfilterErrorCode } from './errors';
export type { Warning, WarningCode } from './warnings';
export * from './nft';
export * from './iptc';
export { formatAddress, parseAddress, parsePrefix, type Prefix } from './address';
export type { Family } from './family';
export type * from './input/types';
export type { EphemeralPorts, HostPortAllocation } from './input/host-ports';
export { DEFAULT_BACKEND, SPEC_LIMITS, parseSpec } from './input/validate';

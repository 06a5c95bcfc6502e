/**
 * One netfilter flavour behind the Docker semantics. A backend turns the
 * backend-neutral model into its own rules, reads back what the kernel holds,
 * and commits only the difference; the semantics never depend on which.
 */
import type { FirewallModel } from '../docker/model.js';
import type { FamilyPortChange } from '../docker/port-change.js';
import type { IptFamily } from '../iptc/rule.js';
import type { Warning } from '../warnings.js';
import type { BindingCounters } from './counters.js';

export type BackendName = 'iptables' | 'nftables';

export interface ApplyOutcome {
  /** Kernel commits made: 0 when the kernel already matched. */
  commits: number;
  /** Changes inside those commits (libiptc operations, netlink messages). */
  changes: number;
  /** What the user should know although the call succeeded (see warnings.ts); absent when nothing. */
  warnings?: Warning[];
}

export interface ApplyOptions {
  /**
   * Take over another manager's rules that stand in the way (a Docker
   * daemon's daemon-level chains with other settings, its networks'
   * rules), instead of refusing with ECONFLICT.
   */
  adopt?: boolean;
}

export interface BackendState {
  backend: BackendName;
  /** What the library owns, as the backend's own tool prints it (iptables-save, nft list). */
  text: string;
  /** The same, as data. */
  data: unknown;
}

export interface Backend {
  readonly name: BackendName;
  /**
   * Reads the kernel, commits what differs from the model, all or nothing.
   * What someone else programmed is never changed: where the model needs it
   * changed, ECONFLICT, unless `adopt`.
   */
  apply(model: FirewallModel, options?: ApplyOptions): Promise<ApplyOutcome>;
  /**
   * Makes the change from `before` to `after` on top of what the kernel holds:
   * rules only `before` needs go, rules `after` needs are added if missing,
   * everything else stays, so that concurrent writers' changes add up.
   */
  applyChange(before: FirewallModel, after: FirewallModel): Promise<ApplyOutcome>;
  /**
   * Publishes and unpublishes port bindings on top of what the kernel holds,
   * touching nothing else, at the cost of the bindings changed. Resolves to
   * undefined, having changed nothing, when the kernel is not as the change
   * expects (someone removed our table, a mapping is held by someone else):
   * the caller then makes the change with applyChange. Absent in a backend
   * whose port mappings are not separate from its other rules.
   */
  applyPortChange?(changes: readonly FamilyPortChange[]): Promise<ApplyOutcome | undefined>;
  /**
   * Whether the kernel still holds exactly what this backend's last commit of
   * a whole model (apply) or of a change on top of it left, cheaply; false
   * when it cannot tell.
   */
  inSync(): Promise<boolean>;
  /**
   * Docker's FilterForwardDrop: the filter FORWARD policy DROP in each
   * family, set when forwarding was just turned on for the networks. Only a
   * backend that has it turns forwarding on (see forwarding.ts); absent in
   * one that, as Docker's nftables firewaller, leaves forwarding to the host.
   */
  dropForwarded?(families: readonly IptFamily[]): Promise<void>;
  /** What apply would commit, in the backend's own syntax; reads the kernel, writes nothing. */
  dryRun(model: FirewallModel, options?: ApplyOptions): Promise<string>;
  /** What the library owns, read back from the kernel. */
  show(): Promise<BackendState>;
  /** Each binding of `model` with the packets and bytes its rules or elements counted, read back (see counters.ts); creates nothing. */
  counters(model: FirewallModel): Promise<BindingCounters[]>;
  /** Removes everything the library owns; the user's chain only if it is empty. */
  flush(): Promise<ApplyOutcome>;
  close(): void;
}

/**
 * One netfilter flavour behind the Docker semantics. A backend turns the
 * backend-neutral model into its own rules, reads back what the kernel holds,
 * and commits only the difference; the semantics never depend on which.
 */
import type { FirewallModel } from '../docker/model.js';
import type { FamilyPortChange } from '../docker/port-change.js';
import type { Family } from '../family.js';
import type { Warning } from '../warnings.js';
import type { BindingCounters } from './counters.js';
import type { ShownFamily } from './shown.js';
import type { ChangeCounts } from './change-counts.js';

export type BackendName = 'iptables' | 'iptables-nft' | 'nftables';

export interface ApplyOutcome {
  /** Kernel commits made: 0 when the kernel already matched. */
  commits: number;
  /** Operations inside those commits (libiptc operations; nftables objects: tables, chains, rules, sets, elements). */
  changes: number;
  /** What the commits added and deleted: rules, chains, sets and set elements. */
  counts: ChangeCounts;
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
  /** What this backend began reading for this apply (readAhead), or for another: then ignored. */
  readAhead?: ReadAhead;
}

/** The reads a backend began for one apply (readAhead): only that backend takes them, and only for that apply. */
export interface ReadAhead {
  readonly of: Backend;
}

export interface DryRunOptions extends Omit<ApplyOptions, 'readAhead'> {
  /** The ruleset the commit would leave, instead of the change. */
  full?: boolean;
}

export interface DryRun {
  /**
   * The change, in the backend's own syntax, that its tool makes from what
   * the kernel holds (iptables-restore --noflush lines per family, an nft -f
   * script), after a summary comment line; with `full`, the resulting ruleset.
   */
  text: string;
  /** What the change adds and deletes. */
  counts: ChangeCounts;
}

export interface BackendState {
  backend: BackendName;
  /** What the backend reads back, as its own tools print it (iptables-save, nft list), foreign rules marked in comment lines. */
  text: string;
  /** The same, as data (shown.ts; schema/show.json). */
  data: ShownFamily[];
}

/**
 * Every backend implements every operation (serialport's bindings are the
 * model): the Firewall calls them without asking what a backend can do.
 * Whatever a backend must keep between calls (the generation its last commit
 * left, the model it last committed) lives in the backend.
 */
export interface Backend {
  readonly name: BackendName;
  /**
   * Reads the kernel, commits what differs from the model, all or nothing.
   * What someone else programmed is never changed: where the model needs it
   * changed, ECONFLICT, unless `adopt`. `model` builds it: a backend may
   * start reading the kernel first, and build it meanwhile.
   */
  apply(model: () => FirewallModel, options?: ApplyOptions): Promise<ApplyOutcome>;
  /**
   * Begins the reads an apply of a whole model starts with, for the caller
   * to hand to that apply (ApplyOptions.readAhead): the kernel works while
   * the caller validates the spec, which a fresh process spends as long on.
   */
  readAhead(): ReadAhead;
  /**
   * Makes the change from `before` to `after` on top of what the kernel holds:
   * rules only `before` needs go, rules `after` needs are added if missing,
   * everything else stays, so that concurrent writers' changes add up.
   * `before` is the model of the spec the caller last committed through this
   * backend, built only if the backend does not keep it.
   */
  applyChange(before: () => FirewallModel, after: FirewallModel): Promise<ApplyOutcome>;
  /**
   * Publishes and unpublishes port bindings on top of what the kernel holds,
   * touching nothing else. Resolves to undefined, having changed nothing,
   * when the backend cannot make the change from `changes` alone (the kernel
   * is not as the change expects: someone removed our table, a mapping is
   * held by someone else; or it kept no model to change): the caller then
   * makes it with applyChange. `after` builds the whole model after the
   * change, for a backend whose port mappings are not apart from its other
   * rules (iptables).
   */
  applyPortChange(changes: readonly FamilyPortChange[], after: () => FirewallModel): Promise<ApplyOutcome | undefined>;
  /**
   * Whether the kernel still holds exactly what this backend's last commit of
   * a whole model (apply) or of a change on top of it left, cheaply; false
   * when it cannot tell.
   */
  inSync(): Promise<boolean>;
  /**
   * Forwarding is off in `families` and the spec asks for it (Docker's
   * --ip-forward, see forwarding.ts): the iptables backends turn it on and,
   * with `forwardDrop`, set the filter FORWARD policy to DROP (Docker's
   * filterForwardDropper); the nftables backend, as Docker's nftables
   * firewaller, leaves forwarding to the host and refuses with ENOFORWARDING
   * before anything is written. Resolves to the sysctls written.
   */
  enableForwarding(families: readonly Family[], forwardDrop: boolean): Promise<string[]>;
  /** What apply would commit, in the backend's own syntax; reads the kernel, writes nothing. */
  dryRun(model: FirewallModel, options?: DryRunOptions): Promise<DryRun>;
  /** What the backend reads back from the kernel (the iptables tables it writes to, whole; nftables: its tables), each rule marked whose it is. */
  show(): Promise<BackendState>;
  /** Each binding of `model` with the packets and bytes its rules or elements counted, read back (see counters.ts); creates nothing. */
  counters(model: FirewallModel): Promise<BindingCounters[]>;
  /** Removes everything the library owns; the user's chain only if it is empty. */
  flush(): Promise<ApplyOutcome>;
  close(): void;
}

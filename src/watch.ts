/**
 * Self-healing: a FirewallWatcher keeps re-asserting the spec a Firewall last
 * applied, so rules someone else flushed (`nft flush ruleset`,
 * `iptables -t nat -F`, a firewalld reload) come back within one interval.
 * Each check is Firewall.reapply(): it reads back, diffs, and commits nothing
 * while the kernel still matches; with nftables it costs one generation
 * query while the ruleset generation is unchanged since the last commit.
 *
 * Opt-in. It restores only this Firewall's spec: in a namespace shared by
 * several writers, it would also remove what the others added.
 *
 * A check that fails because the Firewall can no longer work (closed, or its
 * namespace deleted or replaced: ENOENT) would fail the same way
 * forever: the watcher emits that error once and stops. Any other failure is
 * emitted and the next check comes one interval later.
 */
import { EventEmitter } from 'node:events';
import { invalid, NetfilterError, ValidationError } from './errors.js';
import type { ApplyResult, Firewall } from './firewall.js';

export interface WatchOptions {
  /** How often the kernel is compared with the spec; default 250 ms. */
  intervalMs?: number;
}

export interface FirewallWatcherEvents {
  /** Something had removed or changed our rules; they were put back. */
  repaired: [result: ApplyResult];
  /** A check failed; the watcher keeps going, unless the failure is for good (then it has stopped). */
  error: [error: Error];
}

const DEFAULT_INTERVAL_MS = 250;

export class FirewallWatcher extends EventEmitter<FirewallWatcherEvents> {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The check under way, so close() can wait for it to end. */
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly firewall: Firewall, options: WatchOptions = {}) {
    super();
    const interval = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    if (!Number.isInteger(interval) || interval < 10 || interval > 3_600_000) {
      invalid('intervalMs', 'an interval of 10 ms to 1 hour', interval);
    }
    if (firewall.currentSpec() === undefined) invalid('firewall', 'a Firewall that has applied a spec', 'none applied');
    const check = async () => {
      if (this.stopped) return;
      try {
        const result = await this.firewall.reapply();
        if (result !== undefined && result.changes > 0 && !this.stopped) this.emit('repaired', result);
      } catch (error) {
        if (this.stopped) return;
        if (isForGood(error)) this.stopped = true;
        this.emit('error', error as Error);
      }
      if (!this.stopped) this.timer = setTimeout(start, interval);
    };
    const start = () => {
      this.running = check();
    };
    this.timer = setTimeout(start, interval);
  }

  /** Stops watching; resolves once a check under way has ended, so nothing is re-applied after it. Safe to call twice. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/**
 * A failure every later check would repeat: the Firewall is closed, or its
 * namespace is gone (found before the check, or, deleted during it, when the
 * check opened the path).
 */
function isForGood(error: unknown): boolean {
  return (error instanceof ValidationError && error.field === 'firewall') ||
    (error instanceof NetfilterError && error.code === 'ENOENT' && (error.operation === 'netns.check' || error.operation === 'netns.open'));
}

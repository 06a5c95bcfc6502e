/**
 * What the library wants a user to know without failing a call: one channel
 * for every warning, carried by ApplyResult.warnings (and a flush's outcome),
 * printed by the CLI as `warning: CODE: message` lines on stderr and kept in
 * `--json`. Codes are stable strings to branch on; messages are for people.
 */

/** Stable warning codes. */
export type WarningCode =
  /** A foreign filter FORWARD (policy DROP, or rules) would drop traffic bridgewall accepts. */
  | 'WFORWARDDROP'
  /** IP forwarding is off in the namespace and `ipForward: false` keeps it so. */
  | 'WFORWARDINGOFF'
  /** The kernel has no connection tracking netlink: stale flows were not cleared. */
  | 'WCONNTRACK'
  /**
   * A backend's DOCKER-USER chain still holds the user's rules (which flush
   * keeps) after the flush, or the backend switch, that removed every jump
   * to it: they filter nothing any more.
   */
  | 'WDOCKERUSERLEFT';

export interface Warning {
  code: WarningCode;
  message: string;
}

/** Collects warnings, each once (the same text from two families or two calls is said once). */
export class Warnings {
  private readonly seen = new Map<string, Warning>();

  add(code: WarningCode, message: string): void {
    const key = `${code}\0${message}`;
    if (!this.seen.has(key)) this.seen.set(key, { code, message });
  }

  addAll(warnings: Iterable<Warning> | undefined): void {
    for (const warning of warnings ?? []) this.add(warning.code, warning.message);
  }

  list(): Warning[] {
    return [...this.seen.values()];
  }
}

/** The CLI's line for a warning. */
export function formatWarning(warning: Warning): string {
  return `warning: ${warning.code}: ${warning.message.replace(/\s*\n\s*/g, ' ')}`;
}

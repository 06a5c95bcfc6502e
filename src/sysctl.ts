/**
 * Writes the kernel settings a model needs under /proc/sys inside the target
 * namespace, natively (no sysctl(8) process).
 */
import type { Sysctl } from './docker/model.js';
import { callNative, invalid } from './errors.js';
import { binding } from './native/binding.js';

export interface SysctlOutcome {
  /** Dotted names written. */
  written: string[];
  /** Entries that do not exist (yet): a bridge not created, br_netfilter not loaded. */
  missing: string[];
}

export async function writeSysctls(netns: string, sysctls: readonly Sysctl[]): Promise<SysctlOutcome> {
  if (sysctls.length === 0) return { written: [], missing: [] };
  const entries = sysctls.map((sysctl, i) => {
    sysctl.path.forEach((part, j) => {
      if (part.length === 0 || part === '.' || part === '..' || /[/\0]/.test(part)) {
        invalid(`sysctls[${i}].path[${j}]`, 'a /proc/sys path component', part);
      }
    });
    return { path: sysctl.path.join('/'), value: sysctl.value };
  });
  const written = await callNative(() => binding.writeSysctls(netns, entries));
  const outcome: SysctlOutcome = { written: [], missing: [] };
  sysctls.forEach((sysctl, i) => (written[i] ? outcome.written : outcome.missing).push(sysctl.path.join('.')));
  return outcome;
}

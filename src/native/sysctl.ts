/** Private types of the addon's /proc/sys reader and writer. */
export interface NativeSysctlBinding {
  /** Writes each entry (path relative to /proc/sys) inside the namespace; false where the entry does not exist. */
  writeSysctls(netnsPath: string, entries: readonly { path: string; value: string }[]): Promise<boolean[]>;
  /** Reads each entry (path relative to /proc/sys) inside the namespace, trailing newline removed; null where it does not exist. */
  readSysctls(netnsPath: string, paths: readonly string[]): Promise<(string | null)[]>;
}

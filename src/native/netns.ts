/** Private types of the addon's network namespace check. */
export interface NativeNetnsBinding {
  /**
   * Opens the path (empty: the caller's own namespace), checks it is a
   * network namespace and enters it (and leaves) on a worker thread: the
   * device and inode of its nsfs file, and its SO_NETNS_COOKIE in decimal (a
   * 64-bit number; unique until reboot, never reused), null on a kernel
   * without cookies (before 5.14).
   */
  netnsIdentity(netnsPath: string): Promise<{ device: number; inode: number; cookie: string | null }>;
}

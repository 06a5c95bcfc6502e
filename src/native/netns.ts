/** Private types of the addon's network namespace check. */
export interface NativeNetnsBinding {
  /**
   * Opens the path, checks it is a network namespace and enters it (and
   * leaves) on a worker thread; the device and inode of its nsfs file.
   */
  netnsIdentity(netnsPath: string): Promise<{ device: number; inode: number }>;
  /** The namespace's SO_NETNS_COOKIE, in decimal (a 64-bit number): unique until reboot, never reused. */
  netnsCookie(netnsPath: string): Promise<string>;
}

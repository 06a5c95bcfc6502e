/** Private types of the addon's namespace identity. */
export interface NativeNetnsBinding {
  /** The namespace's SO_NETNS_COOKIE, in decimal (a 64-bit number): unique until reboot, never reused. */
  netnsCookie(netnsPath: string): Promise<string>;
}

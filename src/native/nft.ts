/** Private types of the addon's nftables half. */
export interface NativeNftBinding {
  openNftConnection(netnsPath: string): Promise<unknown>;
}

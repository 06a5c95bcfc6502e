/** Private types of the addon's libiptc half. */
export interface NativeIptcBinding {
  openIptcTable(netnsPath: string): Promise<unknown>;
}

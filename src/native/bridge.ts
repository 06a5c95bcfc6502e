/** Private types of the addon's bridge-port settings. */
export interface NativeBridgeBinding {
  /** Sets hairpin mode on every port of each bridge inside the namespace. */
  setBridgePortsHairpin(netnsPath: string, bridges: readonly string[]): Promise<{ bridge: string; exists: boolean; ports: number }[]>;
}

/**
 * How a bed puts a spec into its host namespace. The suite takes this as a
 * parameter so that one set of packet tests runs against every backend.
 */
import type { BackendName } from '../../src/backends/backend.js';
import { Firewall } from '../../src/firewall.js';
import type { SpecInput } from '../../src/input/types.js';
import type { TestNetns } from '../helpers/netns.js';

/** Replaces whatever firewall state the host namespace has with the one `spec` describes. */
export type SpecApplier = (host: TestNetns, spec: SpecInput) => Promise<void>;

/**
 * The library itself: a Firewall on the host namespace with the given
 * backend, so the host settings the model needs are written by the library too.
 */
function applyWith(backend: BackendName): SpecApplier {
  return async (host, input) => {
    const firewall = await Firewall.open({ netns: host.path });
    try {
      await firewall.apply({ ...input, backend });
    } finally {
      firewall.close();
    }
  };
}

export const applyWithIptablesBackend = applyWith('iptables');
export const applyWithIptablesNftBackend = applyWith('iptables-nft');
export const applyWithNftablesBackend = applyWith('nftables');

/**
 * How a bed puts a spec into its host namespace. The suite takes this as a
 * parameter so that one set of packet tests runs against every backend.
 */
import { Firewall } from '../../src/firewall.js';
import type { SpecInput } from '../../src/spec/types.js';
import type { TestNetns } from '../helpers/netns.js';

/** Replaces whatever firewall state the host namespace has with the one `spec` describes. */
export type SpecApplier = (host: TestNetns, spec: SpecInput) => Promise<void>;

/**
 * The library's iptables backend: a Firewall on the host namespace, so the
 * kernel settings the model needs are written by the library too.
 */
export const applyWithIptablesBackend: SpecApplier = async (host, input) => {
  const firewall = await Firewall.open({ netns: host.path });
  try {
    await firewall.apply({ ...input, backend: 'iptables' });
  } finally {
    firewall.close();
  }
};

/** The library's nftables backend, the same way. */
export const applyWithNftablesBackend: SpecApplier = async (host, input) => {
  const firewall = await Firewall.open({ netns: host.path });
  try {
    await firewall.apply({ ...input, backend: 'nftables' });
  } finally {
    firewall.close();
  }
};

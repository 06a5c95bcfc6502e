/**
 * The shapes of a spec as a Firewall holds it (ports packed in a PortList)
 * and the view the model is built from, which parseSpec's output fits too.
 */
import type { PortList } from './port-list.js';
import type { NetworkSpec, PortSpec, Spec } from '../input/types.js';

export interface PackedEndpoint {
  ipv4?: string;
  ipv6?: string;
  ports: PortList;
}

export interface PackedNetwork extends Omit<NetworkSpec, 'endpoints'> {
  endpoints: PackedEndpoint[];
}

export interface PackedSpec extends Omit<Spec, 'networks'> {
  networks: PackedNetwork[];
}

export interface EndpointView {
  ipv4?: string;
  ipv6?: string;
  ports: Iterable<PortSpec>;
}

export interface NetworkView extends Omit<NetworkSpec, 'endpoints'> {
  endpoints: readonly EndpointView[];
}

export interface SpecView extends Omit<Spec, 'networks'> {
  networks: readonly NetworkView[];
}

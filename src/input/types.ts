/**
 * The desired firewall state, as accepted by `apply(spec)` and the CLI.
 *
 * `SpecInput` is what callers write (JSON, defaults optional); `Spec` is what
 * `parseSpec` returns: validated, defaults filled, addresses in canonical form
 * and port ranges as `{ first, last }`.
 */

export type FirewallBackend = 'iptables' | 'iptables-nft' | 'nftables';

/**
 * Docker's `com.docker.network.bridge.gateway_mode_ipv4/ipv6`:
 * - `nat`: masquerade outgoing traffic, publish ports with DNAT, drop direct access to containers;
 * - `nat-unprotected`: like `nat`, but every container port is reachable, not only the published ones;
 * - `routed`: no NAT; published ports are opened for direct routing, ICMP is accepted;
 * - `isolated`: no gateway at all; only valid for internal networks.
 */
export type GatewayMode = 'nat' | 'nat-unprotected' | 'routed' | 'isolated';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** An inclusive port range; a single port has `first === last`. */
export interface PortRange {
  first: number;
  last: number;
}

export interface Spec {
  backend: FirewallBackend;
  /** Program the IPv4 (iptables) family. */
  ipv4: boolean;
  /** Program the IPv6 (ip6tables) family. */
  ipv6: boolean;
  /** `false` is Docker's `--userland-proxy=false`: hairpin NAT rules replace docker-proxy for local traffic. */
  userlandProxy: boolean;
  /**
   * Docker's `--ip-forward` (default true): the networks need IP forwarding in
   * the namespace. The iptables backend turns it on (IPv4, and IPv6 `all` and
   * `default` with an IPv6 network); the nftables backend, as Docker's, refuses
   * with ENOFORWARDING while it is off. false: neither, a warning instead.
   */
  ipForward: boolean;
  /**
   * When the iptables backend turns forwarding on, it sets the filter FORWARD
   * policy to DROP, as Docker does (default true); false is Docker's
   * `--ip-forward-no-drop`.
   */
  forwardDrop: boolean;
  networks: NetworkSpec[];
  /** Swarm's routing mesh on this node (IPv4 only). */
  ingress?: IngressSpec;
}

export interface NetworkSpec {
  /** The bridge interface, e.g. `docker0` or `br-0123456789ab`. Unique across networks. */
  bridge: string;
  /** No route in or out of the subnet (`docker network create --internal`). */
  internal: boolean;
  /** Inter-container communication on the bridge (`com.docker.network.bridge.enable_icc`). */
  icc: boolean;
  /** Masquerade (or SNAT) traffic leaving the subnet (`com.docker.network.bridge.enable_ip_masquerade`). */
  masquerade: boolean;
  gatewayMode: GatewayMode;
  ipv4?: SubnetSpec;
  ipv6?: SubnetSpec;
  endpoints: EndpointSpec[];
}

export interface SubnetSpec {
  /** The subnet's network address and prefix length, e.g. `192.168.0.0/24`. */
  subnet: string;
  /** SNAT outgoing traffic to this host address instead of masquerading (`com.docker.network.host_ipv4/6`). */
  hostIp?: string;
}

export interface EndpointSpec {
  /** The container's address in the network's IPv4 subnet. */
  ipv4?: string;
  /** The container's address in the network's IPv6 subnet. */
  ipv6?: string;
  ports: PortSpec[];
}

export interface PortSpec {
  proto: PortProtocol;
  /**
   * The host address to publish on, as Docker reads it: an IPv4 address, `0.0.0.0`
   * (every IPv4 address) included, publishes on IPv4 only; an IPv6 one, `::` included,
   * on IPv6 only; absent, on every enabled family in which the endpoint has an address.
   * A family the endpoint has no address in publishes nothing.
   */
  hostIp?: string;
  /**
   * Absent only where no host port is chosen (routed and internal networks): the
   * container port is opened for direct routing, without DNAT.
   */
  hostPort?: PortRange;
  /** Same length as `hostPort` when both are given: port `hostPort.first + i` maps to `containerPort.first + i`. */
  containerPort: PortRange;
}

export interface IngressSpec {
  /** The gateway bridge the ingress sandbox is attached to (`docker_gwbridge`). */
  bridge: string;
  /** The ingress sandbox's IPv4 address on that bridge: published ports are DNATed to it. */
  address: string;
  ports: IngressPortSpec[];
}

export interface IngressPortSpec {
  proto: PortProtocol;
  /** The published port, on every host address. */
  port: number;
}

/** What callers may write: every defaulted field is optional, ports may be numbers or `"A-B"` strings. */
export interface SpecInput {
  backend?: FirewallBackend;
  ipv4?: boolean;
  ipv6?: boolean;
  userlandProxy?: boolean;
  ipForward?: boolean;
  forwardDrop?: boolean;
  networks?: NetworkSpecInput[];
  ingress?: IngressSpec;
  /**
   * This apply takes over another manager's rules that stand in its way (a
   * Docker daemon's, see README "Sharing a host") instead of failing with
   * ECONFLICT. Not kept: the next apply refuses again if it needs to.
   */
  adopt?: boolean;
}

export interface NetworkSpecInput {
  bridge: string;
  internal?: boolean;
  icc?: boolean;
  masquerade?: boolean;
  gatewayMode?: GatewayMode;
  ipv4?: SubnetSpec;
  ipv6?: SubnetSpec;
  endpoints?: EndpointSpecInput[];
}

export interface EndpointSpecInput {
  ipv4?: string;
  ipv6?: string;
  ports?: PortInput[];
}

/**
 * A port as callers write it: an object, or a string in Docker's `-p`
 * notation, `[hostIp:][hostPort:]containerPort[/proto]` (e.g. `"8080:80"`,
 * `"127.0.0.1:8080:80/udp"`, `"[::1]:8080:80"`, `"80"`), read as Docker reads it.
 */
export type PortInput = PortSpecInput | string;

export interface PortSpecInput {
  /** Default `tcp`, as in Docker. */
  proto?: PortProtocol;
  hostIp?: string;
  /**
   * A port, or a range `"8080-8081"` as long as `containerPort`. Absent on a
   * network with NAT: a free port of the namespace's ephemeral range is
   * chosen; a longer range with a single container port: a free port of it is.
   */
  hostPort?: number | string;
  /** A port, or a range `"80-81"`. */
  containerPort: number | string;
}

/**
 * The desired firewall state, as accepted by `apply(spec)` and the CLI.
 *
 * `SpecInput` is what callers write (JSON, defaults optional); `Spec` is what
 * `parseSpec` returns: validated, defaults filled, addresses in canonical form
 * and port ranges as `{ first, last }`.
 */

/**
 * Which netfilter flavour a spec is programmed with: `iptables` (legacy
 * x_tables through libiptc), `iptables-nft` (the same rules in nf_tables, as
 * iptables-nft writes them) or `nftables` (tables of bridgewall's own).
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

/** The protocols a port is published for. */
export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** An inclusive port range; a single port has `first === last`. */
export interface PortRange {
  /** The first port, 1 to 65535. */
  first: number;
  /** The last port, `first` or above. */
  last: number;
}

/** A spec as `parseSpec` returns it and `Firewall.currentSpec()` holds it: every default filled. */
export interface Spec {
  /** The backend programmed. */
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
  /** The bridge networks, bridge names unique. */
  networks: NetworkSpec[];
  /** Swarm's routing mesh on this node (IPv4 only). */
  ingress?: IngressSpec;
}

/** A bridge network, validated (see {@link NetworkSpecInput}). */
export interface NetworkSpec {
  /** The bridge interface, e.g. `docker0` or `br-0123456789ab`. Unique across networks. */
  bridge: string;
  /** No route in or out of the subnet (`docker network create --internal`). */
  internal: boolean;
  /** Inter-container communication on the bridge (`com.docker.network.bridge.enable_icc`). */
  icc: boolean;
  /** Masquerade (or SNAT) traffic leaving the subnet (`com.docker.network.bridge.enable_ip_masquerade`). */
  masquerade: boolean;
  /** How the network reaches out and is reached (see {@link GatewayMode}). */
  gatewayMode: GatewayMode;
  /** The network's IPv4 subnet; at least one of `ipv4` and `ipv6` is given. */
  ipv4?: SubnetSpec;
  /** The network's IPv6 subnet. */
  ipv6?: SubnetSpec;
  /** The containers attached, with the ports they publish. */
  endpoints: EndpointSpec[];
}

/** A network's subnet in one family. */
export interface SubnetSpec {
  /** The subnet's network address and prefix length, e.g. `192.168.0.0/24`. */
  subnet: string;
  /** SNAT outgoing traffic to this host address instead of masquerading (`com.docker.network.host_ipv4/6`). */
  hostIp?: string;
}

/** A container attached to a network. */
export interface EndpointSpec {
  /** The container's address in the network's IPv4 subnet. */
  ipv4?: string;
  /** The container's address in the network's IPv6 subnet. */
  ipv6?: string;
  /** The ports it publishes, ranges as `{ first, last }`. */
  ports: PortSpec[];
}

/** A published port, validated: host port chosen where the network needs one. */
export interface PortSpec {
  /** The protocol published. */
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

/** Swarm's routing mesh on this node: published ports DNATed to the ingress sandbox. */
export interface IngressSpec {
  /** The gateway bridge the ingress sandbox is attached to (`docker_gwbridge`). */
  bridge: string;
  /** The ingress sandbox's IPv4 address on that bridge: published ports are DNATed to it. */
  address: string;
  /** The ports the mesh publishes. */
  ports: IngressPortSpec[];
}

/** A port the routing mesh publishes. */
export interface IngressPortSpec {
  /** The protocol published. */
  proto: PortProtocol;
  /** The published port, on every host address. */
  port: number;
}

/** What callers may write: every defaulted field is optional, ports may be numbers or `"A-B"` strings. */
export interface SpecInput {
  /**
   * The netfilter flavour to program (see {@link FirewallBackend}).
   * @defaultValue `"nftables"`
   */
  backend?: FirewallBackend;
  /**
   * Program the IPv4 family (iptables, or the `ip` nftables table).
   * @defaultValue `true`
   */
  ipv4?: boolean;
  /**
   * Program the IPv6 family (ip6tables, or the `ip6` nftables table).
   * @defaultValue `false`
   */
  ipv6?: boolean;
  /**
   * `false` is Docker's `--userland-proxy=false`: hairpin NAT rules replace
   * docker-proxy for local traffic.
   * @defaultValue `true`
   */
  userlandProxy?: boolean;
  /**
   * Docker's `--ip-forward`: the networks need IP forwarding in the
   * namespace. The iptables backends turn it on; nftables, as Docker's,
   * refuses with ENOFORWARDING while it is off. `false`: neither, a warning.
   * @defaultValue `true`
   */
  ipForward?: boolean;
  /**
   * When the iptables backends turn forwarding on, the filter FORWARD policy
   * becomes DROP, as Docker sets it; `false` is Docker's `--ip-forward-no-drop`.
   * @defaultValue `true`
   */
  forwardDrop?: boolean;
  /**
   * The bridge networks, bridge names unique (at most 1024).
   * @defaultValue `[]`
   */
  networks?: NetworkSpecInput[];
  /** Swarm's routing mesh on this node (IPv4 only); none when absent. */
  ingress?: IngressSpec;
  /**
   * This apply takes over another manager's rules that stand in its way (a
   * Docker daemon's, see README "Sharing a host") instead of failing with
   * ECONFLICT. Not kept: the next apply refuses again if it needs to.
   * @defaultValue `false`
   */
  adopt?: boolean;
}

/** A bridge network as callers write it. */
export interface NetworkSpecInput {
  /** The bridge interface, e.g. `docker0` or `br-0123456789ab` (an interface name: 1 to 15 characters). Unique across networks. */
  bridge: string;
  /**
   * No route in or out of the subnet (`docker network create --internal`).
   * @defaultValue `false`
   */
  internal?: boolean;
  /**
   * Inter-container communication on the bridge (`com.docker.network.bridge.enable_icc`).
   * @defaultValue `true`
   */
  icc?: boolean;
  /**
   * Masquerade (or SNAT to `hostIp`) traffic leaving the subnet (`com.docker.network.bridge.enable_ip_masquerade`).
   * @defaultValue `true`
   */
  masquerade?: boolean;
  /**
   * How the network reaches out and is reached (see {@link GatewayMode}); `isolated` only for an internal network.
   * @defaultValue `"nat"`
   */
  gatewayMode?: GatewayMode;
  /** The network's IPv4 subnet; at least one of `ipv4` and `ipv6` is given, and no two networks' subnets overlap. */
  ipv4?: SubnetSpec;
  /** The network's IPv6 subnet. */
  ipv6?: SubnetSpec;
  /**
   * The containers attached (at most 4096).
   * @defaultValue `[]`
   */
  endpoints?: EndpointSpecInput[];
}

/** A container attached to a network, as callers write it. */
export interface EndpointSpecInput {
  /** The container's address in the network's IPv4 subnet; needed to publish on IPv4. */
  ipv4?: string;
  /** The container's address in the network's IPv6 subnet; needed to publish on IPv6. */
  ipv6?: string;
  /**
   * The ports it publishes (at most 1024).
   * @defaultValue `[]`
   */
  ports?: PortInput[];
}

/**
 * A port as callers write it: an object, or a string in Docker's `-p`
 * notation, `[hostIp:][hostPort:]containerPort[/proto]` (e.g. `"8080:80"`,
 * `"127.0.0.1:8080:80/udp"`, `"[::1]:8080:80"`, `"80"`), read as Docker reads it.
 */
export type PortInput = PortSpecInput | string;

/** A published port as an object. */
export interface PortSpecInput {
  /**
   * The protocol published, as in Docker.
   * @defaultValue `"tcp"`
   */
  proto?: PortProtocol;
  /** The host address to publish on (see {@link PortSpec.hostIp}); absent, on every enabled family. */
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

/**
 * Which names bridgewall accepts for an interface (a bridge, the ingress
 * bridge): the ones it writes into rules and into /proc/sys paths.
 */

/**
 * What Linux accepts (net/core/dev.c dev_valid_name: 1 to 15 bytes, not "."
 * or "..", no '/', ':' or whitespace), narrowed further: iptables reads a
 * trailing `+` as a wildcard and a leading `!` as negation, so only
 * A-Z a-z 0-9 _ . - are taken, and no name starts with . or -.
 */
const INTERFACE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

/**
 * /proc/sys/net/{ipv4,ipv6}/conf/all and .../default are the namespace-wide
 * entries, not an interface's: a bridge by either name would have its
 * per-interface settings written for every interface (and the kernel refuses
 * to create one).
 */
const NAMESPACE_WIDE = new Set(['all', 'default']);

export const INTERFACE_NAME_EXPECTED =
  'an interface name of 1 to 15 characters from A-Z a-z 0-9 _ . - (not starting with . or -, not "all" or "default")';

export function isInterfaceName(name: unknown): name is string {
  return typeof name === 'string' && INTERFACE_NAME.test(name) && !NAMESPACE_WIDE.has(name);
}

/** `all` or `default`: the net.{ipv4,ipv6}.conf entries that apply to the whole namespace. */
export function isNamespaceWideConf(name: string): boolean {
  return NAMESPACE_WIDE.has(name);
}

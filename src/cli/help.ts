/** The CLI's help texts: every command and option, and what to do when something is missing. */

export const MAIN_HELP = `bridgewall: Docker Engine's bridge-network firewall rules, programmed straight into
netfilter (nftables or legacy iptables) inside a network namespace.

Usage:
  bridgewall apply SPEC.json [--netns PATH] [--dry-run] [--json]
  bridgewall show [--backend iptables|nftables] [--netns PATH] [--json]
  bridgewall flush [--backend iptables|nftables] [--netns PATH]
  bridgewall COMMAND --help

Commands:
  apply   make the namespace match a spec (idempotent; what the spec no longer lists is removed)
  show    print what bridgewall owns in the namespace, read back from the kernel
  flush   remove everything bridgewall owns in the namespace

Changing a ruleset needs root, or CAP_NET_ADMIN (and CAP_SYS_ADMIN for --netns).
On failure: a non-zero exit and one line "error: CODE: message" on stderr.
`;

export const APPLY_HELP = `Usage: bridgewall apply SPEC.json [--netns PATH] [--dry-run] [--json]

Makes the namespace's firewall match SPEC.json ("-" reads standard input): the
spec is validated, compared with the rules read back from the kernel, and only
the difference is committed, atomically per table (iptables) or family
(nftables). Applying the same spec twice changes nothing. Networks, endpoints
and ports the spec no longer lists are removed; the daemon-level chains stay.
The rules of the other backend in the namespace are removed.

Options:
  --netns PATH   network namespace to program, e.g. /run/netns/NAME or /proc/PID/ns/net
                 (default: the namespace bridgewall runs in)
  --dry-run      print what would be committed (iptables-save text or an nft script); touch nothing
  --json         print the outcome as JSON
  -h, --help     show this help

SPEC.json:
  { "backend": "nftables" | "iptables", "ipv4": true, "ipv6": false, "userlandProxy": true,
    "networks": [{ "bridge": "br-web", "internal": false, "icc": true, "masquerade": true,
        "gatewayMode": "nat" | "nat-unprotected" | "routed" | "isolated",
        "ipv4": { "subnet": "198.18.1.0/24", "hostIp": "203.0.113.10" },
        "ipv6": { "subnet": "2001:db8:1::/64" },
        "endpoints": [{ "ipv4": "198.18.1.2", "ipv6": "2001:db8:1::2",
            "ports": [{ "proto": "tcp", "hostIp": "0.0.0.0", "hostPort": 8080, "containerPort": 80 }] }] }],
    "ingress": { "bridge": "docker_gwbridge", "address": "172.18.0.2", "ports": [{ "proto": "tcp", "port": 8080 }] } }
  Ports may be "A-B" ranges of equal length. A port without hostPort (routed networks)
  is opened without DNAT.
`;

export const SHOW_HELP = `Usage: bridgewall show [--backend iptables|nftables] [--netns PATH] [--json]

Prints the chains, rules, sets and maps bridgewall owns in the namespace, read
back from the kernel (iptables-save text, or nft syntax). Without --backend,
both backends are shown.

Options:
  --backend NAME  iptables or nftables
  --netns PATH    network namespace to read (default: bridgewall's own)
  --json          print as JSON
  -h, --help      show this help
`;

export const FLUSH_HELP = `Usage: bridgewall flush [--backend iptables|nftables] [--netns PATH]

Removes everything bridgewall owns in the namespace: its chains, the jumps to
them and its rules in the built-in chains (iptables), or its tables (nftables).
The user's chain (DOCKER-USER) is removed only when it is empty. Without
--backend, both backends are flushed.

Options:
  --backend NAME  iptables or nftables
  --netns PATH    network namespace to change (default: bridgewall's own)
  -h, --help      show this help
`;

/** What to do next, by error code. */
export const HINTS: Record<string, string> = {
  EPERM: 'run as root, or with CAP_NET_ADMIN (and CAP_SYS_ADMIN for --netns)',
  EACCES: 'run as root, or with CAP_NET_ADMIN (and CAP_SYS_ADMIN for --netns)',
  EAFNOSUPPORT: 'the kernel lacks netfilter support for this family: load the nf_tables or ip_tables modules',
  EPROTONOSUPPORT: 'the kernel lacks nf_tables support: load the nf_tables module',
  EOPNOTSUPP: 'the kernel lacks a netfilter feature this rule needs: load the nft_* / xt_* modules',
  EBUSY: 'another process holds the xtables lock or uses the chain; retry, or raise the lock timeout',
};

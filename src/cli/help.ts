/** The CLI's help texts: every command and option, and what to do when something is missing. */

export const MAIN_HELP = `bridgewall: Docker Engine's bridge-network firewall rules, programmed straight into
netfilter (nftables, iptables-nft or legacy iptables) inside a network namespace.

Usage:
  bridgewall apply SPEC.json [--netns PATH] [--dry-run [--full]] [--adopt] [--json] [--quiet]
  bridgewall show [--backend iptables|iptables-nft|nftables] [--netns PATH] [--json]
  bridgewall show --counters SPEC.json [--netns PATH] [--json]
  bridgewall flush [--backend iptables|iptables-nft|nftables] [--netns PATH] [--quiet]
  bridgewall demo [--backend iptables|iptables-nft|nftables] [--json]
  bridgewall schema spec|show
  bridgewall COMMAND --help
  bridgewall --version

Commands:
  apply   make the namespace match a spec (idempotent; what the spec no longer lists is removed)
  show    print the tables bridgewall writes to, read back from the kernel, each
          rule marked whose it is (--counters: packets and bytes per port binding of a spec)
  flush   remove everything bridgewall owns in the namespace
  demo    build a throwaway sandbox of namespaces, apply a spec there and prove it with real connections
  schema  print the JSON Schema of the spec or of show --json

Options:
  -V, --version  print bridgewall's version
  -h, --help     show this help

Changing a ruleset needs root, or CAP_NET_ADMIN (and CAP_SYS_ADMIN for --netns).
--netns takes the absolute path of another namespace than bridgewall's own (a
path naming its own, such as /proc/self/ns/net, is refused: omit --netns for that).

Warnings go to stderr as "warning: CODE: message" lines; failures as one line
"error: CODE: message".

Exit status:
  0  success
  1  failure (invalid spec, kernel or system error, a demo check failed)
  2  usage error (unknown command or option, wrong arguments: EUSAGE)
`;

export const APPLY_HELP = `Usage: bridgewall apply SPEC.json [--netns PATH] [--dry-run [--full]] [--adopt] [--json] [--quiet]

Makes the namespace's firewall match SPEC.json ("-" reads standard input; a
regular file or standard input of at most about 512 MiB, nothing else): the
spec is validated, compared with the rules read back from the kernel, and only
the difference is committed, atomically: per table (iptables, legacy x_tables),
or in one transaction for every table of both families (iptables-nft, nftables). Applying the same spec twice changes nothing. Networks, endpoints
and ports the spec no longer lists are removed; the daemon-level chains stay.
The rules of the other backend in the namespace are removed. Rules bridgewall
did not create (a Docker daemon's) are never changed; where the spec needs
them changed, apply fails with ECONFLICT and changes nothing. It prints what it
did: rules, set elements and chains added and deleted, then the kernel commits.

Options:
  --netns PATH   network namespace to program, e.g. /run/netns/NAME or /proc/PID/ns/net
                 (default: the namespace bridgewall runs in)
  --dry-run      print the change the apply would commit, touching nothing: a summary line
                 (rules, set elements and chains added and deleted), then the change in the
                 backend's own syntax, which its tool can apply: iptables-restore lines per
                 family (feed each to the ip(6)tables-legacy-restore or -nft-restore --noflush
                 the header names), or an nft -f script
  --full         with --dry-run: print the tables as the apply would leave them instead
                 (a dry run shows the spec's backend alone: not the other backends' rules
                 a switch removes, nor forwarding, the FORWARD policy or sysctls)
  --adopt        take over another manager's rules that stand in the way (else: error ECONFLICT)
  --json         print the outcome as JSON
  -q, --quiet    print nothing on success (warnings still go to stderr)
  -h, --help     show this help

SPEC.json:
  { "backend": "nftables" | "iptables-nft" | "iptables", "ipv4": true, "ipv6": false, "userlandProxy": true,
    "ipForward": true, "forwardDrop": true,
    "networks": [{ "bridge": "br-web", "internal": false, "icc": true, "masquerade": true,
        "gatewayMode": "nat" | "nat-unprotected" | "routed" | "isolated",
        "ipv4": { "subnet": "198.18.1.0/24", "hostIp": "203.0.113.10" },
        "ipv6": { "subnet": "2001:db8:1::/64" },
        "endpoints": [{ "ipv4": "198.18.1.2", "ipv6": "2001:db8:1::2",
            "ports": [{ "proto": "tcp", "hostIp": "0.0.0.0", "hostPort": 8080, "containerPort": 80 },
                      "[::]:8080:80", "127.0.0.1:5353:53/udp", "9000"] }] }],
    "ingress": { "bridge": "docker_gwbridge", "address": "172.18.0.2", "ports": [{ "proto": "tcp", "port": 8080 }] } }
  Ports are objects ("proto" defaults to tcp) or strings in Docker's -p notation,
  [hostIp:][hostPort:]containerPort[/proto], read as Docker reads them. Ports may be
  "A-B" ranges of equal length.
  hostIp as in Docker: an IPv4 address, 0.0.0.0 included, publishes on IPv4 only; an
  IPv6 address, :: included, on IPv6 only; none, on every enabled family the endpoint
  has an address in. (Docker's -p 8080:80 is "0.0.0.0:8080:80" plus "[::]:8080:80".)
  No hostPort on a nat or nat-unprotected network: a free host port of the namespace's
  ephemeral range (net.ipv4.ip_local_port_range) is chosen, the same for IPv4 and IPv6,
  and printed; a host range with one container port ("8000-8010:80") is chosen from.
  No hostPort on a routed network: the container port is opened without DNAT.
  "adopt": true does what --adopt does.
  As in Docker, a subnet has no host bits set and is not 0.0.0.0/0 or ::/0, and no
  endpoint is on its subnet's network or broadcast address (IPv6: its first address).
  A bridge is an interface name: 1 to 15 of A-Z a-z 0-9 _ . -, not "all" or "default".
  backend: "iptables" writes Docker's rules into legacy x_tables (iptables-legacy-save
  shows them); "iptables-nft" writes the same rules into nf_tables exactly as the
  host's iptables 1.8 (nf_tables) does (iptables-save and iptables -C/-D see them);
  "nftables" (the default) writes bridgewall's own nftables tables.
  ipForward (Docker's --ip-forward): the iptables backends turn
  IP forwarding on (and then sets the FORWARD policy to DROP unless forwardDrop is false,
  Docker's --ip-forward-no-drop); the nftables backend refuses while it is off, as
  Docker's does. false: forwarding is left as it is, with a warning when it is off.
`;

export const SHOW_HELP = `Usage: bridgewall show [--backend iptables|iptables-nft|nftables] [--netns PATH] [--json]
       bridgewall show --counters SPEC.json [--netns PATH] [--json]

Prints what the backend reads back from the kernel, per family and table, as
the native tools print it: for the iptables flavours the whole raw, filter and
nat tables as iptables-save / ip6tables-save (legacy) or iptables-nft-save /
ip6tables-nft-save print them, for nftables bridgewall's tables as nft list
prints them. Rules that are not bridgewall's follow a "# owner: user" (the
user's chain, DOCKER-USER) or "# owner: other" (a Docker daemon's, another
tool's) comment line; the text still loads with iptables-restore or nft -f.
With --json, the same as data, each chain, rule, set and element with its
owner (bridgewall schema show describes it). Without --backend, every backend
is shown.

With --counters, prints each port binding of the spec in SPEC.json (- for
standard input) with the packets and bytes its rules counted, on the backend
the spec names: dnat, translated to the container by that binding; fwd,
forwarded to the container port (shared by the bindings of one container
port). The rules see a connection's first packet (fwd: and any resent before
the answer); "-" where the binding has
no such rule (no host port; a network that accepts everything) or the kernel
does not hold it.

Options:
  --backend NAME  iptables, iptables-nft or nftables
  --counters      counters per port binding of SPEC.json
  --netns PATH    network namespace to read (default: bridgewall's own)
  --json          print as JSON
  -h, --help      show this help
`;

export const FLUSH_HELP = `Usage: bridgewall flush [--backend iptables|iptables-nft|nftables] [--netns PATH] [--quiet]

Removes everything bridgewall owns in the namespace: its chains, the jumps to
them and its rules in the built-in chains (iptables), or its tables (nftables).
The user's chain (DOCKER-USER) is removed only when it is empty (warning
WDOCKERUSERLEFT when its rules are left with nothing jumping to them). Without
--backend, both backends are flushed.

Options:
  --backend NAME  iptables, iptables-nft or nftables
  --netns PATH    network namespace to change (default: bridgewall's own)
  -q, --quiet     print nothing on success (warnings still go to stderr)
  -h, --help      show this help
`;

export const SCHEMA_HELP = `Usage: bridgewall schema spec|show

Prints a JSON Schema (draft 2020-12) shipped with the package (schema/):
  spec  the spec that apply reads (SPEC.json), defaults included
  show  what show --json prints

Options:
  -h, --help  show this help
`;

export const DEMO_HELP = `Usage: bridgewall demo [--backend iptables|iptables-nft|nftables] [--json]

Shows what bridgewall does, inside a sandbox it builds and removes itself:
  1. creates network namespaces named bwdemo-PID-*: a Docker host, an outside host,
     two bridge networks (br-web, and br-db which is internal), three containers
     (web, api, db) and a scratch namespace;
  2. starts a small TCP server and prober (a node process) in each;
  3. applies a spec publishing web's port 80 on the host's port 8080, and prints
     the ruleset read back from the kernel;
  4. proves with real connections what is reachable and what is isolated;
  5. publishes 10,000 more ports in one call, times it, and proves one of them;
  6. times 100 iptables processes, one per rule as Docker runs them, in the scratch
     namespace, and extrapolates to the rules those 10,000 ports need;
then deletes every namespace it created (also on failure, Ctrl-C, SIGTERM or
SIGHUP) and prints a table: check, expected, result. Connection attempts give up
after 1.2 s. The machine's own ruleset and interfaces are never touched. It takes
a few seconds.

Options:
  --backend NAME  iptables, iptables-nft or nftables (default: the library's default, nftables)
  --json          print the report as one JSON document, without progress lines
  -h, --help      show this help

Needs root, or CAP_NET_ADMIN and CAP_SYS_ADMIN, and the ip (iproute2) and
iptables tools. Exits 1 with "error: ECHECKS: ..." when a check fails.
`;

/** What to do next, by error code. */
export const HINTS: Record<string, string> = {
  EPERM: 'run as root, or with CAP_NET_ADMIN (and CAP_SYS_ADMIN for --netns)',
  EACCES: 'run as root, or with CAP_NET_ADMIN (and CAP_SYS_ADMIN for --netns)',
  EAFNOSUPPORT: 'the kernel lacks netfilter support for this family: load the nf_tables or ip_tables modules',
  EPROTONOSUPPORT: 'the kernel lacks nf_tables support: load the nf_tables module',
  EOPNOTSUPP: 'the kernel lacks a netfilter feature this rule needs: load the nft_* / xt_* modules',
  ECONFLICT: 'another manager (e.g. a Docker daemon) owns the rules named: change the spec to match them (e.g. its userlandProxy, another bridge name), or pass --adopt to take them over',
  ENOLEGACY: 'use "backend": "iptables-nft" (the same rules, in nf_tables) or "nftables"; show and flush need no legacy tables (README, Sharing a host)',
  ENOPROTOOPT: 'the kernel lacks a netfilter socket option: load the ip_tables / ip6_tables modules, or use the nftables backend',
  ENOFORWARDING: 'turn forwarding on in the namespace (ip netns exec NAME sysctl -w net.ipv4.ip_forward=1), use the iptables backend, which turns it on as Docker\'s does, or set "ipForward": false in the spec',
  EBUSY: 'another process holds the xtables lock or uses the chain; retry, or raise the lock timeout',
  ENOTOOL: 'as root: apt-get install iproute2 iptables (or run bash .ci/quickstart demo, which installs everything)',
  ETOOL: 'the kernel refused to build the sandbox: check that network namespaces, veth and bridge are available (modprobe veth bridge)',
  ECHECKS: 'the rules did not behave as Docker\'s do; please report it with the table above',
  EADDON: 'the native addon is missing or cannot load its libraries: as root, apt-get install libnftnl-dev libmnl-dev libip4tc-dev libip6tc-dev pkg-config, then npm rebuild',
};

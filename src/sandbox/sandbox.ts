/**
 * Throwaway network namespaces, the only place the demo, the tests and the
 * benchmark do anything to the kernel: a Sandbox creates namespaces, each
 * with a unique name carrying its kind and the process id
 * (`PREFIX-PID-N[-LABEL]`, so concurrent runs and the machine's own
 * namespaces are never confused), and deletes all of them, with whatever it
 * was told to undo first, in `remove()`; or, if the process exits or is
 * stopped by a signal before, then (live.ts).
 */
import { IPTABLES_FLAVOURS, ownerRecordPath } from '../backends/iptables/owner-record.js';
import { writeSysctls } from '../sysctl.js';
import { deleteNamespace, track, trackOwnerRecords } from './live.js';
import { runTool, systemTool } from './tools.js';

export interface NamespaceOptions {
  /**
   * IPv4 and IPv6 forwarding on, as on a Docker host (Docker's goldens come
   * from one, and the nftables backend refuses to apply without it, as
   * Docker's does); default true. false: a fresh namespace's, off.
   */
  forwarding?: boolean;
}

export interface Namespace {
  readonly name: string;
  /** The path the library is given: /run/netns/NAME. */
  readonly path: string;
  /** Runs a system tool inside the namespace and returns its standard output. */
  run(tool: string, ...args: string[]): Promise<string>;
  /** The same, with text on the tool's standard input (iptables-restore, nft -f -). */
  runWithInput(tool: string, args: readonly string[], input: string): Promise<string>;
  /** Runs `ip` commands, one per line, in one process inside the namespace. */
  ipBatch(commands: readonly string[]): Promise<void>;
}

const FORWARDING = [['net', 'ipv4', 'ip_forward'], ['net', 'ipv6', 'conf', 'all', 'forwarding'], ['net', 'ipv6', 'conf', 'default', 'forwarding']];

let counter = 0;

export class Sandbox {
  private readonly names: string[] = [];
  private readonly cleanups: (() => void)[] = [];

  /** `prefix` says whose namespaces they are: `bwdemo`, `bwt` (tests), `bwbench`. */
  constructor(private readonly prefix: string) {}

  /** The names this sandbox's namespaces have, as a shell pattern. */
  get pattern(): string {
    return `${this.prefix}-${process.pid}-*`;
  }

  /** How many namespaces it has created (or was creating). */
  get size(): number {
    return this.names.length;
  }

  /** Creates a namespace with its loopback up; `label` goes into its name, to tell namespaces apart in `ip netns list`. */
  async add(label?: string, options: NamespaceOptions = {}): Promise<Namespace> {
    const name = `${this.prefix}-${process.pid}-${++counter}${label ? `-${label}` : ''}`;
    const path = `/run/netns/${name}`;
    this.names.push(name);
    track(name);
    await runTool('ip', ['netns', 'add', name]);
    trackOwnerRecords(name, await Promise.all(IPTABLES_FLAVOURS.map((flavour) => ownerRecordPath(flavour, path))));
    await runTool('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    // Entries that do not exist (IPv6 disabled) are left out, not failed.
    if (options.forwarding ?? true) await writeSysctls(path, FORWARDING.map((entry) => ({ path: entry, value: '1' })));
    const runWithInput = async (tool: string, args: readonly string[], input: string): Promise<string> =>
      runTool('ip', ['netns', 'exec', name, systemTool(tool), ...args], input);
    return {
      name,
      path,
      run: (tool, ...args) => runWithInput(tool, args, ''),
      runWithInput,
      async ipBatch(commands) {
        if (commands.length > 0) await runTool('ip', ['-n', name, '-batch', '-'], `${commands.join('\n')}\n`);
      },
    };
  }

  /** Registers something to undo before the namespaces go, e.g. killing a process inside one. */
  onRemove(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** Deletes everything the sandbox created. Synchronous and safe to call twice. */
  remove(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const name of this.names.splice(0)) deleteNamespace(name);
  }
}

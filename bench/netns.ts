/**
 * Throwaway network namespaces for the benchmark, each with a unique name and
 * deleted when its work is done, or at the latest when the process exits.
 * System tools run inside them by absolute path through nsenter.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const live = new Set<string>();
let counter = 0;

process.on('exit', () => {
  for (const name of [...live]) deleteNetns(name);
});
// A run stopped by a signal (Ctrl-C, timeout(1)) deletes its namespaces too.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));
}

function deleteNetns(name: string): void {
  if (!live.delete(name)) return;
  try {
    execFileSync('/usr/sbin/ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // Already gone.
  }
}

export interface BenchNetns {
  readonly path: string;
  /** Runs a tool inside the namespace, feeding it `input`; returns the wall time in ms (process start included). */
  time(tool: string, args: readonly string[], input?: string): number;
}

/** Runs `work` in a fresh namespace and deletes the namespace afterwards, whatever happens. */
export async function withNetns<T>(work: (ns: BenchNetns) => Promise<T>): Promise<T> {
  const name = `bwbench-${process.pid}-${++counter}`;
  execFileSync('/usr/sbin/ip', ['netns', 'add', name], { timeout: 10_000 });
  live.add(name);
  try {
    // Forwarding on, as on a Docker host: the nftables backend refuses to apply without it, as Docker's does.
    execFileSync('/usr/sbin/ip', ['netns', 'exec', name, 'sh', '-c',
      'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding; echo 1 > /proc/sys/net/ipv6/conf/default/forwarding'],
    { timeout: 10_000 });
    const path = `/run/netns/${name}`;
    return await work({
      path,
      time(tool, args, input) {
        const start = performance.now();
        const result = spawnSync('/usr/bin/nsenter', [`--net=${path}`, tool, ...args], {
          input: input ?? '', maxBuffer: 1 << 30, encoding: 'utf8', timeout: 600_000,
        });
        const ms = performance.now() - start;
        if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.error}`);
        return ms;
      },
    });
  } finally {
    deleteNetns(name);
  }
}

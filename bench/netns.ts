/**
 * Throwaway network namespaces for the benchmark: src/sandbox's, one per
 * measurement, deleted when its work is done (or when the process exits or
 * is stopped). System tools run inside them by absolute path through nsenter,
 * timed from the process's start.
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Sandbox } from '../src/sandbox/sandbox.js';

export interface BenchNetns {
  readonly path: string;
  /** Runs a tool inside the namespace, feeding it `input`; returns the wall time in ms (process start included). */
  time(tool: string, args: readonly string[], input?: string): number;
  /** Runs a tool inside the namespace; returns what it printed. */
  output(tool: string, args: readonly string[]): string;
}

/** Runs `work` in a fresh namespace, forwarding on as on a Docker host, and deletes the namespace afterwards, whatever happens. */
export async function withNetns<T>(work: (ns: BenchNetns) => Promise<T>): Promise<T> {
  const sandbox = new Sandbox('bwbench');
  try {
    const { path } = await sandbox.add();
    const run = (tool: string, args: readonly string[], input?: string) => {
      const result = spawnSync('/usr/bin/nsenter', [`--net=${path}`, tool, ...args], {
        input: input ?? '', maxBuffer: 1 << 30, encoding: 'utf8', timeout: 600_000,
      });
      if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.error}`);
      return result.stdout;
    };
    return await work({
      path,
      time(tool, args, input) {
        const start = performance.now();
        run(tool, args, input);
        return performance.now() - start;
      },
      output: run,
    });
  } finally {
    sandbox.remove();
  }
}

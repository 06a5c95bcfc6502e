/**
 * The bulk-publish timing: 10,000 ports in one library call, against what
 * Docker does, one `iptables` process per rule. Forking 20,000 processes
 * would take minutes, so a sample of them is timed and extrapolated, in a
 * namespace of its own, and the report says so.
 */
import { performance } from 'node:perf_hooks';
import type { Firewall } from '../firewall.js';
import type { PortSpecInput } from '../input/types.js';
import type { Namespace } from '../sandbox/sandbox.js';
import { systemTool } from '../sandbox/tools.js';

/** Docker's setPerPortIptables: a DNAT rule (nat) and an ACCEPT rule (filter) per port, each its own process. */
export const DOCKER_RULES_PER_PORT = 2;

export interface BulkTiming {
  ports: number;
  commits: number;
  ms: number;
}

export interface ForkSample {
  /** `iptables --version`, e.g. "iptables v1.8.9 (nf_tables)". */
  tool: string;
  processes: number;
  ms: number;
}

export async function timeBulkPublish(
  firewall: Firewall, bridge: string, endpoint: { ipv4: string }, ports: readonly PortSpecInput[], count: number,
): Promise<BulkTiming> {
  const started = performance.now();
  const result = await firewall.addPorts(bridge, endpoint, ports);
  return { ports: count, commits: result.commits, ms: performance.now() - started };
}

/**
 * Runs `processes` iptables commands shaped like Docker's per-port rules,
 * one process each, from one shell inside the namespace `scratch`.
 */
export async function sampleForkPerRule(scratch: Namespace, processes: number, target: { address: string; bridge: string }): Promise<ForkSample> {
  const iptables = systemTool('iptables');
  const tool = (await scratch.runWithInput('sh', ['-e'], `${iptables} --version\n${iptables} -t nat -N DOCKER\n${iptables} -t filter -N DOCKER\n`)).trim();
  const commands: string[] = [];
  for (let port = 1; commands.length < processes; port++) {
    commands.push(
      `${iptables} -t nat -A DOCKER ! -i ${target.bridge} -p tcp -m tcp --dport ${port} -j DNAT --to-destination ${target.address}:${port}`,
      `${iptables} -t filter -A DOCKER -d ${target.address}/32 ! -i ${target.bridge} -o ${target.bridge} -p tcp -m tcp --dport ${port} -j ACCEPT`,
    );
  }
  const started = performance.now();
  await scratch.runWithInput('sh', ['-e'], `${commands.slice(0, processes).join('\n')}\n`);
  const ms = performance.now() - started;
  return { tool, processes, ms };
}

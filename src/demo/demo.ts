/**
 * `bridgewall demo`: builds a sandbox of network namespaces, applies a spec
 * with published ports through the default backend, proves with real
 * connections what is reachable and what is isolated, times a bulk publish
 * of 10,000 ports against one `iptables` process per rule, and removes the
 * sandbox, also when it fails or is interrupted.
 */
import type { BackendName } from '../backends/backend.js';
import { Firewall } from '../firewall.js';
import { DEFAULT_BACKEND } from '../input/validate.js';
import { Agent } from '../sandbox/agent-client.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { requireNamespacePrivileges } from '../sandbox/tools.js';
import { buildTopology } from '../sandbox/topology.js';
import { DOCKER_RULES_PER_PORT, sampleForkPerRule, timeBulkPublish, type BulkTiming, type ForkSample } from './bulk.js';
import { runChecks, type CheckRow } from './checks.js';
import { BULK, BULK_CHECK, BULK_PORTS, CHECKS, demoSpec, SERVED_PORT, TOPOLOGY, WEB } from './scenario.js';

/** iptables processes timed; at a few milliseconds each the sample stays within a second or two. */
const FORK_SAMPLE_PROCESSES = 100;
const BULK_PORT_COUNT = BULK.last - BULK.first + 1;
const STEPS = 6;

export interface DemoOptions {
  /** Default: the library's default backend. */
  backend?: BackendName;
  /** Called with one line per step, as it starts. */
  progress?: (line: string) => void;
}

export interface DemoReport {
  backend: BackendName;
  /** What the library owns in the sandbox's host namespace after the first apply, as the backend prints it. */
  ruleset: string;
  checks: CheckRow[];
  bulk: BulkTiming;
  forkSample: ForkSample;
  /** The fork sample's time per process, times the processes Docker would fork for the bulk ports. */
  forkEstimateMs: number;
  /** Namespaces created and deleted. */
  namespaces: number;
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const progress = options.progress ?? (() => {});
  const backend = options.backend ?? DEFAULT_BACKEND;
  requireNamespacePrivileges();
  // Deleted in the `finally`, or, on SIGINT, SIGTERM or SIGHUP, by the sandbox itself before the process ends.
  const sandbox = new Sandbox('bwdemo');
  let firewall: Firewall | undefined;
  try {
    progress(`backend: ${backend}`);
    progress(`only namespaces named ${sandbox.pattern} are created and changed; the machine's own ruleset and interfaces are never touched`);
    progress(`[1/${STEPS}] building the sandbox: host, outside, 2 bridge networks, 3 containers, a scratch namespace`);
    const topology = await buildTopology(sandbox, TOPOLOGY);
    const scratch = await sandbox.add('scratch');

    progress(`[2/${STEPS}] starting a TCP server and prober in each namespace`);
    const nodes = [['outside', topology.outside] as const, ...topology.containers.map((container) => [container.description.name, container.netns] as const)];
    const agents = new Map(await Promise.all(nodes.map(async ([role, netns]) => {
      const agent = await Agent.start(sandbox, netns, role);
      await agent.serve('tcp', role === 'web' ? [SERVED_PORT, BULK.last] : [SERVED_PORT]);
      return [role, agent] as const;
    })));

    progress(`[3/${STEPS}] applying the spec with ${backend} in ${topology.host.name}`);
    firewall = await Firewall.open({ netns: topology.host.path });
    await firewall.apply(demoSpec(backend));
    const ruleset = (await firewall.show(backend)).text;

    progress(`[4/${STEPS}] proving ${CHECKS.length} connections (each attempt bounded to 1.2 s)`);
    const checks = await runChecks(agents, CHECKS);

    progress(`[5/${STEPS}] publishing ${BULK_PORT_COUNT.toLocaleString('en-US')} ports in one call, then proving one of them`);
    const bulk = await timeBulkPublish(firewall, WEB.bridge, { ipv4: WEB.address }, BULK_PORTS, BULK_PORT_COUNT);
    checks.push(...await runChecks(agents, [BULK_CHECK]));

    progress(`[6/${STEPS}] timing ${FORK_SAMPLE_PROCESSES} iptables processes, one per rule as Docker runs them, in ${scratch.name}`);
    const forkSample = await sampleForkPerRule(scratch, FORK_SAMPLE_PROCESSES, WEB);
    const forkEstimateMs = (forkSample.ms / forkSample.processes) * BULK_PORT_COUNT * DOCKER_RULES_PER_PORT;

    return { backend, ruleset, checks, bulk, forkSample, forkEstimateMs, namespaces: sandbox.size };
  } finally {
    firewall?.close();
    progress(`removing the sandbox (${sandbox.size} namespaces)`);
    sandbox.remove();
  }
}

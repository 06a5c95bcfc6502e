/**
 * `bridgewall demo`: builds a sandbox of network namespaces, applies a spec
 * with published ports through the default backend, proves with real
 * connections what is reachable and what is isolated, times a bulk publish
 * of 10,000 ports against one `iptables` process per rule, and removes the
 * sandbox, also when it fails or is interrupted.
 */
import type { BackendName } from '../backends/backend.js';
import { Firewall } from '../firewall.js';
import { DEFAULT_BACKEND } from '../spec/validate.js';
import { Agent } from './agent-client.js';
import { DOCKER_RULES_PER_PORT, sampleForkPerRule, timeBulkPublish, type BulkTiming, type ForkSample } from './bulk.js';
import { runChecks, type CheckRow } from './checks.js';
import { Sandbox } from './sandbox.js';
import { BULK, BULK_CHECK, BULK_PORTS, CHECKS, demoSpec, SERVED_PORT, TOPOLOGY, WEB } from './scenario.js';
import { requireCapabilities } from './system.js';

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
  requireCapabilities();
  const sandbox = new Sandbox();
  const removeOnSignal = (signal: NodeJS.Signals): void => {
    sandbox.remove();
    process.kill(process.pid, signal); // the handler was `once`: the default action now ends the process
  };
  const removeOnExit = (): void => sandbox.remove();
  process.once('SIGINT', removeOnSignal).once('SIGTERM', removeOnSignal).once('exit', removeOnExit);
  let firewall: Firewall | undefined;
  try {
    progress(`backend: ${backend}`);
    progress(`only namespaces named ${sandbox.name('*')} are created and changed; the machine's own ruleset and interfaces are never touched`);
    progress(`[1/${STEPS}] building the sandbox: host, outside, 2 bridge networks, 3 containers, a scratch namespace`);
    await sandbox.build(TOPOLOGY);
    await sandbox.addNamespace('scratch');

    progress(`[2/${STEPS}] starting a TCP server and prober in each namespace`);
    const roles = ['outside', ...TOPOLOGY.networks.flatMap((network) => network.containers.map((container) => container.name))];
    const agents = new Map(await Promise.all(roles.map(async (role) => {
      const ports = role === 'web' ? [SERVED_PORT, BULK.last] : [SERVED_PORT];
      return [role, await Agent.start(sandbox, role, ports)] as const;
    })));

    progress(`[3/${STEPS}] applying the spec with ${backend} in ${sandbox.name('host')}`);
    firewall = await Firewall.open({ netns: sandbox.path('host') });
    await firewall.apply(demoSpec(backend));
    const ruleset = (await firewall.show(backend)).text;

    progress(`[4/${STEPS}] proving ${CHECKS.length} connections (each attempt bounded to 1.2 s)`);
    const checks = await runChecks(agents, CHECKS);

    progress(`[5/${STEPS}] publishing ${BULK_PORT_COUNT.toLocaleString('en-US')} ports in one call, then proving one of them`);
    const bulk = await timeBulkPublish(firewall, WEB.bridge, { ipv4: WEB.address }, BULK_PORTS, BULK_PORT_COUNT);
    checks.push(...await runChecks(agents, [BULK_CHECK]));

    progress(`[6/${STEPS}] timing ${FORK_SAMPLE_PROCESSES} iptables processes, one per rule as Docker runs them, in ${sandbox.name('scratch')}`);
    const forkSample = await sampleForkPerRule(sandbox, 'scratch', FORK_SAMPLE_PROCESSES, WEB);
    const forkEstimateMs = (forkSample.ms / forkSample.processes) * BULK_PORT_COUNT * DOCKER_RULES_PER_PORT;

    return { backend, ruleset, checks, bulk, forkSample, forkEstimateMs, namespaces: sandbox.size };
  } finally {
    firewall?.close();
    progress(`removing the sandbox (${sandbox.size} namespaces)`);
    sandbox.remove();
    process.off('SIGINT', removeOnSignal).off('SIGTERM', removeOnSignal).off('exit', removeOnExit);
  }
}

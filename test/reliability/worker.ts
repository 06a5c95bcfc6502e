/**
 * A separate process driving a Firewall, for the concurrency and crash tests.
 * Usage: node worker.js '<json Job>'. It prints one JSON line per event;
 * `edits` waits for a line on stdin before it starts, so that every worker
 * starts at once.
 */
import { createInterface } from 'node:readline';
import { Firewall } from '../../src/firewall.js';
import type { NetworkSpecInput, PortSpecInput, SpecInput } from '../../src/input/types.js';

export type Job =
  /** Adds `network`, then publishes ports one call at a time, removing every third again. */
  | { kind: 'edits'; netns: string; base: SpecInput; network: NetworkSpecInput; endpoint: string; firstPort: number; operations: number }
  /** Applies the specs in turn, forever (until killed). */
  | { kind: 'alternate'; netns: string; specs: SpecInput[] };

export type WorkerEvent =
  | { event: 'ready' }
  | { event: 'done'; ports: PortSpecInput[] }
  | { event: 'applied'; index: number };

function emit(event: WorkerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function edits(firewall: Firewall, job: Extract<Job, { kind: 'edits' }>): Promise<void> {
  await firewall.apply(job.base);
  emit({ event: 'ready' });
  await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
  await firewall.addNetwork(job.network);
  await firewall.addEndpoint(job.network.bridge, { ipv4: job.endpoint });
  const published: PortSpecInput[] = [];
  for (let i = 0; i < job.operations; i++) {
    const port: PortSpecInput = { proto: 'tcp', hostPort: job.firstPort + i, containerPort: 80 };
    await firewall.addPorts(job.network.bridge, { ipv4: job.endpoint }, [port]);
    published.push(port);
    if (i % 3 === 2) await firewall.removePorts(job.network.bridge, { ipv4: job.endpoint }, [published.shift()!]);
  }
  emit({ event: 'done', ports: published });
}

async function alternate(firewall: Firewall, job: Extract<Job, { kind: 'alternate' }>): Promise<void> {
  emit({ event: 'ready' });
  for (let round = 0; round < 1_000; round++) {
    const index = round % job.specs.length;
    await firewall.apply(job.specs[index]!);
    emit({ event: 'applied', index });
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as Job;
  const firewall = await Firewall.open({ netns: job.netns });
  try {
    if (job.kind === 'edits') await edits(firewall, job);
    else await alternate(firewall, job);
  } finally {
    firewall.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});

/**
 * The nftables bulk publish as the first call of a fresh process: run as its
 * own process, so that nothing of it is compiled or cached yet but what
 * opening the Firewall and applying the network without ports needs (what an
 * engine has done before its containers' endpoints arrive with their ports).
 * Prints one JSON object: the JS call to resolved promise, in ms.
 * Usage: node dist/bench/cold.js NETNS_PATH N
 */
import { performance } from 'node:perf_hooks';
import { Firewall } from '../src/firewall.js';
import { benchSpec } from './workload.js';

async function main(): Promise<void> {
  const [netns, count] = process.argv.slice(2);
  const firewall = await Firewall.open({ netns: netns! });
  await firewall.apply(benchSpec('nftables', 0));
  const spec = benchSpec('nftables', Number(count));
  const start = performance.now();
  await firewall.apply(spec);
  console.log(JSON.stringify({ ms: performance.now() - start }));
  firewall.close();
}

void main();

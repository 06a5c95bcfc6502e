/**
 * Node RSS per mapping held: run as its own process (node --expose-gc), so
 * that nothing else the benchmark allocated counts. Prints one JSON object.
 * Usage: node --expose-gc dist/bench/memory.js NETNS_PATH N
 */
import { Firewall } from '../src/firewall.js';
import { benchSpec } from './workload.js';

async function main(): Promise<void> {
  const [netns, count] = process.argv.slice(2);
  const n = Number(count);
  const gc = (globalThis as { gc?: () => void }).gc!;
  const firewall = await Firewall.open({ netns: netns! });
  await firewall.apply(benchSpec('nftables', 0));
  gc();
  const before = process.memoryUsage().rss;
  await firewall.apply(benchSpec('nftables', n));
  gc();
  const after = process.memoryUsage().rss;
  // The spec passed in is garbage by now: what remains is what the Firewall holds.
  console.log(JSON.stringify({ rssBefore: before, rssAfter: after, bytesPerMapping: Math.round((after - before) / n) }));
  firewall.close();
}

void main();

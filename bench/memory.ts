/**
 * Node RSS per mapping held: run as its own process (node --expose-gc), so
 * that nothing else the benchmark allocated counts. Prints one JSON object.
 * Usage: node --expose-gc dist/bench/memory.js NETNS_PATH N
 *
 * Two figures. `firstBytesPerMapping`: a fresh process's RSS growth from
 * applying N mappings; it includes V8's young generation growing to its
 * maximum (about 17 MB more, once per process, whatever holds memory), since
 * building and validating a large spec keeps most of what it allocates.
 * `bytesPerMapping`: the same in a process that has done it once before
 * (a Firewall applied N mappings, was flushed and closed): what holding N
 * mappings costs a long-running service. The spec input is built before the
 * baseline and kept alive to the end, so that only the Firewall counts.
 */
import { Firewall } from '../src/firewall.js';
import { benchSpec } from './workload.js';

const runGc = (globalThis as { gc?: () => void }).gc!;

/** A full collection, then another once V8 has swept the ArrayBuffers the first freed (that happens after it returns). */
async function gc(): Promise<void> {
  runGc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  runGc();
}

/** RSS growth per mapping of one Firewall applying `n` mappings. */
async function rssPerMapping(netns: string, n: number, keep: boolean): Promise<{ bytes: number; firewall: Firewall }> {
  const firewall = await Firewall.open({ netns });
  await firewall.apply(benchSpec('nftables', 0));
  const spec = benchSpec('nftables', n);
  await gc();
  const before = process.memoryUsage().rss;
  await firewall.apply(spec);
  await gc();
  const after = process.memoryUsage().rss;
  if (!keep) {
    await firewall.flush();
    firewall.close();
  }
  // `spec` is used until here, so it is alive at both measurements.
  return { bytes: Math.round((after - before) / spec.networks!.length / n * spec.networks!.length), firewall };
}

async function main(): Promise<void> {
  const [netns, count] = process.argv.slice(2);
  const n = Number(count);
  const first = await rssPerMapping(netns!, n, false);
  await gc();
  const steady = await rssPerMapping(netns!, n, true);
  console.log(JSON.stringify({ bytesPerMapping: steady.bytes, firstBytesPerMapping: first.bytes, rss: process.memoryUsage().rss }));
  steady.firewall.close();
}

void main();

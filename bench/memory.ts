/**
 * Node RSS per mapping held: run as its own process (node --expose-gc), so
 * that nothing else the benchmark allocated counts. Prints one JSON object.
 * Usage: node --expose-gc dist/bench/memory.js NETNS_PATH N
 *
 * The spec input is built before the baseline and kept alive to the end, so
 * that only the Firewall counts. Three figures: RSS growth per mapping, which
 * also counts V8's young generation when it grows to its maximum (about 17
 * MB, once per process: V8 grows it once enough objects have survived
 * collections since it last grew, whatever they are) and memory the
 * allocators keep for reuse; the V8 heap that stays in use; and the memory
 * outside the heap that stays in use (the packed ports).
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

async function main(): Promise<void> {
  const [netns, count] = process.argv.slice(2);
  const n = Number(count);
  const firewall = await Firewall.open({ netns: netns! });
  await firewall.apply(benchSpec('nftables', 0));
  const spec = benchSpec('nftables', n);
  await gc();
  const before = process.memoryUsage();
  await firewall.apply(spec);
  await gc();
  const after = process.memoryUsage();
  console.log(JSON.stringify({
    bytesPerMapping: Math.round((after.rss - before.rss) / n),
    heapBytesPerMapping: Math.round((after.heapUsed - before.heapUsed) / n),
    externalBytesPerMapping: Math.round((after.external - before.external) / n),
    // Read after the measurement: the spec was alive at both.
    endpoints: spec.networks![0]!.endpoints!.length,
  }));
  firewall.close();
}

void main();

/**
 * 100,000 kernel operations leave the process's descriptors and memory flat.
 * Alone in its file (ava gives each file its own process), so nothing else
 * opens sockets or allocates while it measures.
 */
import { readdirSync } from 'node:fs';
import { createNetns, kernelTest } from './helpers/netns.js';
import { NftBatch, NftConnection, KeyPacker } from '../src/nft/index.js';

const fdCount = () => readdirSync('/proc/self/fd').length;
const MB = 1024 * 1024;

/** Resident memory after garbage collection (ava runs with --expose-gc). */
function settledRss(): number {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  collect?.();
  return process.memoryUsage().rss;
}

kernelTest('100,000 nftables operations leave fd count and memory flat', async (t) => {
  const ns = await createNetns(t, 'leak');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  const T = { family: 'ip', table: 'bw' } as const;
  await conn.commit(new NftBatch().addTable({ family: 'ip', name: 'bw' }).addSet({ ...T, name: 'ports', key: ['inet_service'] }));

  // Each round: add an element, read the table back, delete the element, read the generation.
  const round = async (i: number) => {
    const keys = new KeyPacker(['inet_service']).add([1 + (i % 60_000)]).bytes();
    await conn.commit(new NftBatch().addElements({ ...T, set: 'ports', keyLen: 2, keys }));
    await conn.readTable('ip', 'bw');
    await conn.commit(new NftBatch().deleteElements({ ...T, set: 'ports', keyLen: 2, keys }));
    await conn.generation();
  };
  // Warm-up, 4 operations a round: JIT, and glibc's per-thread malloc arenas
  // for the libuv pool, which grow to a plateau over the first ~40,000.
  for (let i = 0; i < 10_000; i++) await round(i);
  const fds = fdCount();
  const rss = settledRss();
  for (let i = 0; i < 15_000; i++) await round(i); // 60,000 more: 100,000 in all
  const grown = (settledRss() - rss) / MB;
  t.log(`RSS after 100,000 operations: ${grown.toFixed(1)} MB more than after the first 40,000`);
  t.is(fdCount(), fds);
  // A leak of 100 bytes per operation would show as 6 MB.
  t.true(grown < 6, `RSS grew by ${grown.toFixed(1)} MB`);
});

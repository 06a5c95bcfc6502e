import { readdirSync, readlinkSync } from 'node:fs';
import { kernelTest, createNetns } from './helpers/netns';
import { NftBatch, NftConnection } from '../src/nft';

// Alone in its file: ava runs each file in its own process, so no other
// test opens or closes sockets while this one counts them.
kernelTest('10,000 commits leave the process fd count unchanged', async (t) => {
  const ns = await createNetns(t, 'nftfd');
  // Sockets only: pipes of the test's own child processes come and go.
  const fdCount = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    }).length;
  const conn = await NftConnection.open({ netns: ns.path });
  await conn.commit(new NftBatch().addTable({ family: 'ip', name: 'bw' }).addChain({ family: 'ip', table: 'bw', name: 'c' }));
  const before = fdCount();
  for (let i = 0; i < 10_000; i++) {
    await conn.commit(new NftBatch().flushChain({ family: 'ip', table: 'bw', name: 'c' }));
  }
  t.is(fdCount(), before);
  conn.close();
  // Open and close connections too: each close releases its socket.
  for (let i = 0; i < 200; i++) (await NftConnection.open({ netns: ns.path })).close();
  t.is(fdCount(), before - 1);
});


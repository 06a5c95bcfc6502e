/**
 * Handle lifecycle: close() is idempotent, calls after it reject with a typed
 * error, and handles left open by a worker thread are closed with it.
 */
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { once } from 'node:events';
import { NetfilterError } from '../src/errors';
import { IptcTable } from '../src/iptc/table';
import { createNetns, kernelTest } from './helpers/netns';

kernelTest('close() twice is fine; calls after close reject with EBADF', async (t) => {
  const netns = await createNetns(t, 'close');
  const table = await IptcTable.open({ netns: netns.path });
  table.close();
  t.notThrows(() => table.close());
  const transaction = await t.throwsAsync(table.transaction('ipv4', 'filter', []), { instanceOf: NetfilterError });
  t.is(transaction.code, 'EBADF');
  t.is(transaction.operation, 'iptc.transaction');
  const read = await t.throwsAsync(table.read('ipv4', 'filter'), { instanceOf: NetfilterError });
  t.is(read.code, 'EBADF');
  t.is(read.operation, 'iptc.dump');
});

kernelTest('close() during a transaction lets the transaction finish', async (t) => {
  const netns = await createNetns(t, 'inflight');
  const table = await IptcTable.open({ netns: netns.path });
  const pending = table.transaction('ipv4', 'filter', [{ op: 'newChain', chain: 'LATE' }]);
  table.close();
  await t.notThrowsAsync(pending);
  t.regex(await netns.run('iptables-legacy-save', '-t', 'filter'), /:LATE - /);
});

kernelTest('a worker thread that exits with a table open closes it through the cleanup hook', async (t) => {
  const netns = await createNetns(t, 'worker');
  const tableModule = path.resolve(__dirname, '..', 'src', 'iptc', 'table.js');
  const worker = new Worker(
    `const { IptcTable } = require(${JSON.stringify(tableModule)});
     IptcTable.open({ netns: ${JSON.stringify(netns.path)} }).then(() => process.exit(0));`,
    { eval: true },
  );
  const [code] = (await once(worker, 'exit')) as [number];
  t.is(code, 0);
});

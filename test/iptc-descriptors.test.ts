/**
 * Transactions and reads leak no file descriptors (lock file, libiptc socket,
 * saved namespace), on success or failure. Alone in its file so no other test
 * opens or closes descriptors while it counts.
 */
import { readdirSync } from 'node:fs';
import type { IptcOperation } from '../src/iptc/operation';
import { IptcTable } from '../src/iptc/table';
import { createNetns, kernelTest } from './helpers/netns';

const openFds = (): number => readdirSync('/proc/self/fd').length;

function operationsFor(i: number): IptcOperation[] {
  // Every tenth transaction replaces the table, every tenth fails, the rest
  // commit nothing: all take the lock, enter the namespace and open libiptc.
  if (i % 10 === 0) {
    return [
      { op: 'flushChain', chain: 'CHURN' },
      {
        op: 'append',
        chain: 'CHURN',
        rule: { protocol: 'tcp', matches: [{ name: 'tcp', destinationPort: i + 1 }], target: { name: 'ACCEPT' } },
      },
    ];
  }
  if (i % 10 === 5) return [{ op: 'flushChain', chain: 'MISSING' }];
  return [];
}

kernelTest('2,000 transactions and reads leave the number of open descriptors unchanged', async (t) => {
  const netns = await createNetns(t, 'fds');
  const table = await IptcTable.open({ netns: netns.path });
  t.teardown(() => table.close());
  await table.transaction('ipv4', 'filter', [{ op: 'newChain', chain: 'CHURN' }]);
  await table.read('ipv4', 'filter');
  const before = openFds();
  let failures = 0;
  for (let i = 0; i < 2000; i++) {
    await table.transaction('ipv4', 'filter', operationsFor(i)).catch(() => failures++);
    if (i % 100 === 0) await table.read('ipv4', 'filter');
  }
  t.is(failures, 200);
  t.is(openFds(), before);
});

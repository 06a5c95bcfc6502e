import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { kernelTest, createNetns } from './helpers/netns';
import { NftBatch, NftConnection, type ConnectionOptions } from '../src/nft';
import { IptcTable, type IptcTableOptions } from '../src/iptc';

const execFileAsync = promisify(execFile);

kernelTest('a namespace path that does not exist fails with ENOENT', async (t) => {
  const error = await t.throwsAsync(NftConnection.open({ netns: '/run/netns/bridgewall-no-such-namespace' }));
  t.like(error, { name: 'NetfilterError', code: 'ENOENT', operation: 'netns.open' });
});

kernelTest('a path that is not a network namespace fails with EINVAL', async (t) => {
  const error = await t.throwsAsync(NftConnection.open({ netns: '/proc/self/status' }));
  t.like(error, { name: 'NetfilterError', code: 'EINVAL', operation: 'netns.open' });
  const mountNs = await t.throwsAsync(NftConnection.open({ netns: '/proc/self/ns/mnt' }));
  t.like(mountNs, { code: 'EINVAL', message: '/proc/self/ns/mnt is not a network namespace' });
});

test('a namespace path must be a non-empty string, checked alike by both low-level APIs', async (t) => {
  for (const netns of ['', 'ns\0x', 7]) {
    const message = `netns: Expected a network namespace path such as /run/netns/NAME for netns but received ${JSON.stringify(netns)}`;
    for (const open of [() => NftConnection.open({ netns } as ConnectionOptions), () => IptcTable.open({ netns } as IptcTableOptions)]) {
      const error = await t.throwsAsync(open());
      t.like(error, { name: 'ValidationError', code: 'EVALIDATION', field: 'netns', message });
    }
  }
});

kernelTest('readTable checks the table name before the kernel sees it', async (t) => {
  const ns = await createNetns(t, 'nftname');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  for (const name of ['', 'x'.repeat(5_000), 'bw\0junk']) {
    const error = await t.throwsAsync(conn.readTable('ip', name));
    t.like(error, { name: 'ValidationError', field: 'table' });
  }
  t.is((await conn.readTable('ip', 'x'.repeat(254))).table, null);
});

kernelTest('errors keep the stack of the caller', async (t) => {
  const ns = await createNetns(t, 'nftstack');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  async function deleteMissingTable() {
    await conn.commit(new NftBatch().deleteTable({ family: 'ip', name: 'missing' }));
  }
  const error = await t.throwsAsync(deleteMissingTable());
  t.like(error, { code: 'ENOENT', index: 0, object: 'delete table ip missing' });
  t.regex(error!.stack!, /deleteMissingTable/);
});

kernelTest('close() is safe twice and later calls fail with EBADF', async (t) => {
  const ns = await createNetns(t, 'nftclose');
  const conn = await NftConnection.open({ netns: ns.path });
  conn.close();
  conn.close();
  t.true(conn.closed);
  const error = t.throws(() => conn.generation());
  t.like(error, { name: 'NetfilterError', code: 'EBADF' });
});

kernelTest('concurrent commits on one connection all land', async (t) => {
  const ns = await createNetns(t, 'nftconc');
  const conn = await NftConnection.open({ netns: ns.path });
  t.teardown(() => conn.close());
  await Promise.all(Array.from({ length: 50 }, (_, i) => conn.commit(new NftBatch().addTable({ family: 'ip', name: `t${i}` }))));
  t.is((await conn.listTables('ip')).length, 50);
});

kernelTest('without CAP_NET_ADMIN a commit fails with EPERM', async (t) => {
  const ns = await createNetns(t, 'nftperm');
  const dir = mkdtempSync(path.join(tmpdir(), 'bridgewall-'));
  chmodSync(dir, 0o755);
  const script = path.join(dir, 'unprivileged.js');
  const entry = path.resolve(__dirname, '..', 'src', 'nft', 'index.js');
  writeFileSync(
    script,
    `const { NftConnection, NftBatch } = require(${JSON.stringify(entry)});
     (async () => {
       const conn = await NftConnection.open();
       try { await conn.commit(new NftBatch().addTable({ family: 'ip', name: 'x' })); console.log('committed'); }
       catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, operation: e.operation })); }
       conn.close();
     })();`,
  );
  // Inside the throwaway namespace, as nobody with every capability dropped.
  const { stdout } = await execFileAsync(
    'ip',
    ['netns', 'exec', ns.name, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, script],
    { timeout: 20_000 },
  );
  t.deepEqual(JSON.parse(stdout), { name: 'NetfilterError', code: 'EPERM', operation: 'nft.commit' });
});

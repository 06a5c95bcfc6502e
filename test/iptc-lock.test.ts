/**
 * The xtables lock: a transaction waits for it like iptables does and fails
 * with EBUSY when another process keeps holding it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { ExecutionContext } from 'ava';
import { NetfilterError } from '../src/errors';
import { IptcTable } from '../src/iptc/table';
import { createNetns, kernelTest } from './helpers/netns';

function tempLockFile(t: ExecutionContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bridgewall-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'xtables.lock');
}

/** Holds an exclusive flock on `file` in another process until the test ends. */
async function holdLock(t: ExecutionContext, file: string): Promise<void> {
  // In a process group of its own, so the teardown ends the sleep too: left
  // running, it would hold the stdout pipe, and this process, for a minute.
  const holder = spawn('flock', ['--exclusive', file, '-c', 'echo locked; exec sleep 60'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  t.teardown(() => {
    process.kill(-holder.pid!, 'SIGTERM');
  });
  const [chunk] = (await once(holder.stdout, 'data')) as [Buffer];
  t.is(chunk.toString().trim(), 'locked');
}

const appendAccept = [{ op: 'append', chain: 'INPUT', rule: { target: { name: 'ACCEPT' } } }] as const;

kernelTest('a transaction fails with EBUSY while another process holds the lock', async (t) => {
  const netns = await createNetns(t, 'lock');
  const lockFile = tempLockFile(t);
  const table = await IptcTable.open({ netns: netns.path, lockFile, lockTimeoutMs: 200 });
  t.teardown(() => table.close());
  await holdLock(t, lockFile);

  const started = Date.now();
  const error = await t.throwsAsync(table.transaction('ipv4', 'filter', [...appendAccept]), { instanceOf: NetfilterError });
  t.is(error.code, 'EBUSY');
  t.is(error.operation, 'iptc.lock');
  t.regex(error.message, /the xtables lock is held by another process/);
  t.true(Date.now() - started >= 200, 'waited for the timeout');
  t.deepEqual((await table.read('ipv4', 'filter')).find((c) => c.name === 'INPUT')?.rules, []);
});

kernelTest('a transaction waits for the lock and proceeds once it is released', async (t) => {
  const netns = await createNetns(t, 'wait');
  const lockFile = tempLockFile(t);
  const table = await IptcTable.open({ netns: netns.path, lockFile, lockTimeoutMs: 10_000 });
  t.teardown(() => table.close());
  const holder = spawn('flock', ['--exclusive', lockFile, '-c', 'echo locked; exec sleep 0.3'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await once(holder.stdout, 'data');
  await table.transaction('ipv4', 'filter', [...appendAccept]);
  t.is((await table.read('ipv4', 'filter')).find((c) => c.name === 'INPUT')?.rules.length, 1);
});

kernelTest('XTABLES_LOCKFILE chooses the lock file, created with mode 0600', async (t) => {
  const netns = await createNetns(t, 'env');
  const lockFile = tempLockFile(t);
  const previous = process.env.XTABLES_LOCKFILE;
  process.env.XTABLES_LOCKFILE = lockFile;
  let table: IptcTable;
  try {
    table = await IptcTable.open({ netns: netns.path, lockTimeoutMs: 100 });
  } finally {
    if (previous === undefined) delete process.env.XTABLES_LOCKFILE;
    else process.env.XTABLES_LOCKFILE = previous;
  }
  t.teardown(() => table.close());

  await table.transaction('ipv4', 'filter', []);
  t.is(statSync(lockFile).mode & 0o777, 0o600);

  await holdLock(t, lockFile);
  const error = await t.throwsAsync(table.transaction('ipv4', 'filter', [...appendAccept]), { instanceOf: NetfilterError });
  t.is(error.code, 'EBUSY');
  t.true(error.message.includes(lockFile));
});

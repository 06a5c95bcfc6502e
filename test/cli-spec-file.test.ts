/**
 * The spec the CLI reads is bounded: a regular file or standard input, never
 * more than a spec can be. A device, a FIFO or a directory is refused at
 * once (before, `apply /dev/zero` grew to gigabytes and a FIFO blocked
 * forever), each failure one `error: EVALIDATION: SPEC: ...` line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { SPEC_FILE_MAX_BYTES } from '../src/cli/spec-file.js';
import { cliWithin, cliWithInput, specFile } from './helpers/cli.js';
import { createNetns, kernelTest } from './helpers/netns.js';

/** Long enough for node to start and fail; far shorter than reading /dev/zero to its end. */
const BOUND_MS = 15_000;

function scratchDir(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bridgewall-spec-file-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `bytes` spaces (valid JSON whitespace, so only the size can be wrong), in chunks of 1 MiB. */
function spaces(bytes: number): Readable {
  const chunk = Buffer.alloc(1 << 20, 0x20);
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const next = Math.min(left, chunk.length);
      left -= next;
      this.push(next === chunk.length ? chunk : chunk.subarray(0, next));
    },
  });
}

const refusal = (file: string, reason: string) => new RegExp(`^error: EVALIDATION: SPEC: ${file.replace(/[/.]/g, '\\$&')}.*${reason}.*\\n$`);

test('a character device such as /dev/zero is refused at once', async (t) => {
  const run = await cliWithin(BOUND_MS, 'apply', '/dev/zero');
  t.false(run.killed);
  t.is(run.code, 1);
  t.regex(run.stderr, /^error: EVALIDATION: SPEC: cannot read \/dev\/zero: it is a character device, not a regular file \(give a spec file, or - for standard input\)\n$/);
});

test('a FIFO is refused at once, with no writer (before, it blocked forever)', async (t) => {
  const fifo = path.join(scratchDir(t), 'spec.fifo');
  execFileSync('mkfifo', [fifo]);
  const run = await cliWithin(BOUND_MS, 'apply', fifo);
  t.false(run.killed, 'returned within the bound');
  t.is(run.code, 1);
  t.regex(run.stderr, refusal(`cannot read ${fifo}`, 'it is a FIFO, not a regular file'));
});

test('a directory is refused', async (t) => {
  const dir = scratchDir(t);
  const run = await cliWithin(BOUND_MS, 'apply', dir);
  t.is(run.code, 1);
  t.regex(run.stderr, refusal(`cannot read ${dir}`, 'it is a directory, not a regular file'));
});

test('a file larger than a spec can be is refused by its size, without reading it', async (t) => {
  const file = path.join(scratchDir(t), 'huge.json');
  writeFileSync(file, '');
  truncateSync(file, SPEC_FILE_MAX_BYTES + 1); // sparse: no disk space, no time
  const started = Date.now();
  const run = await cliWithin(BOUND_MS, 'apply', file);
  t.is(run.code, 1);
  t.regex(run.stderr, refusal(file, `is larger \\(${SPEC_FILE_MAX_BYTES + 1} bytes\\) than the ${SPEC_FILE_MAX_BYTES} bytes a spec can have`));
  t.true(Date.now() - started < 5_000, 'not read');
});

test('standard input over the cap is refused once the cap is passed', async (t) => {
  const run = await cliWithInput(60_000, spaces(SPEC_FILE_MAX_BYTES + 1), 'apply', '-');
  t.false(run.killed);
  t.is(run.code, 1);
  t.is(run.stderr, `error: EVALIDATION: SPEC: standard input is larger than the ${SPEC_FILE_MAX_BYTES} bytes a spec can have\n`);
});

kernelTest('a spec on standard input, within the cap, is read and applied', async (t) => {
  const ns = await createNetns(t, 'clistdin');
  const spec = JSON.stringify({
    backend: 'iptables',
    networks: [{ bridge: 'br-web', ipv4: { subnet: '198.18.1.0/24' }, endpoints: [{ ipv4: '198.18.1.2' }] }],
  });
  const run = await cliWithInput(60_000, Readable.from([Buffer.from(spec)]), 'apply', '-', '--netns', ns.path, '--json');
  t.is(run.code, 0, run.stderr);
  t.like(JSON.parse(run.stdout), { backend: 'iptables' });
  t.regex(await ns.run('iptables-legacy-save', '-t', 'nat'), /-A POSTROUTING -s 198\.18\.1\.0\/24 ! -o br-web -j MASQUERADE/);
  // And a regular file, as before.
  t.is((await cliWithin(60_000, 'apply', specFile(JSON.parse(spec)), '--netns', ns.path)).code, 0);
});

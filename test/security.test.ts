/**
 * The library's path never starts a process or a shell: outside the demo's
 * own folder (which builds its sandbox with `ip` and times `iptables`), no
 * source file in src/ imports child_process or calls exec-like APIs, and the
 * native addon has no exec/system/popen either. Names reach the kernel only
 * as netlink attributes and libiptc entries.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { repositoryRoot } from './helpers/conformance.js';

function filesUnder(dir: string, extensions: readonly string[]): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && extensions.some((ext) => entry.name.endsWith(ext)))
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
}

const root = repositoryRoot();

test('no TypeScript outside src/demo starts a process', (t) => {
  const library = filesUnder(path.join(root, 'src'), ['.ts']).filter((file) => !file.includes(`${path.sep}demo${path.sep}`));
  t.true(library.length > 20);
  const offenders = library.filter((file) => /child_process|\bexecSync\b|\bspawnSync\b|worker_threads/.test(readFileSync(file, 'utf8')));
  t.deepEqual(offenders.map((file) => path.relative(root, file)), []);
});

test('the native addon never execs, forks or calls a shell', (t) => {
  const sources = filesUnder(path.join(root, 'native'), ['.cc', '.h']);
  t.true(sources.length > 10);
  const offenders = sources.filter((file) => /\b(system|popen|fork|vfork|execv|execl|execvp|posix_spawn)\s*\(/.test(readFileSync(file, 'utf8')));
  t.deepEqual(offenders.map((file) => path.relative(root, file)), []);
});

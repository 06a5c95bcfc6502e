/**
 * The library's path never starts a process or a shell: outside the demo's
 * folder (which times `iptables`) and the sandbox's (which builds namespaces
 * with `ip` and runs its agents in them), no source file in src/ imports
 * child_process or calls exec-like APIs, and the native addon has no
 * exec/system/popen either. Names reach the kernel only
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

test('no TypeScript outside src/demo and src/sandbox starts a process', (t) => {
  const library = filesUnder(path.join(root, 'src'), ['.ts'])
    .filter((file) => !['demo', 'sandbox'].some((folder) => file.includes(`${path.sep}src${path.sep}${folder}${path.sep}`)));
  t.true(library.length > 20);
  const offenders = library.filter((file) => /child_process|\bexecSync\b|\bspawnSync\b|worker_threads/.test(readFileSync(file, 'utf8')));
  t.deepEqual(offenders.map((file) => path.relative(root, file)), []);
  // Nor does the library reach them: only the CLI's demo command does.
  const reaching = library.filter((file) => !file.includes(`${path.sep}src${path.sep}cli${path.sep}`))
    .filter((file) => /from '\.\.?\/(\.\.\/)*(demo|sandbox)\//.test(readFileSync(file, 'utf8')));
  t.deepEqual(reaching.map((file) => path.relative(root, file)), []);
});

test('the native addon never execs, forks or calls a shell', (t) => {
  const sources = filesUnder(path.join(root, 'native'), ['.cc', '.h']);
  t.true(sources.length > 10);
  const offenders = sources.filter((file) => /\b(system|popen|fork|vfork|execv|execl|execvp|posix_spawn)\s*\(/.test(readFileSync(file, 'utf8')));
  t.deepEqual(offenders.map((file) => path.relative(root, file)), []);
});

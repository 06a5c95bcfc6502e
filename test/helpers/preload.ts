/**
 * LD_PRELOAD shims that emulate a kernel without a feature for a child
 * process (test/helpers/NAME.c): each built with cc once per test file into a
 * temporary folder, which goes when the file's tests are done. The preload of
 * the test run itself (the sanitizer runtime of npm run test:asan) is kept.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';

let folder: string | undefined;
const built = new Map<string, string>();

test.after.always(() => {
  if (folder) rmSync(folder, { recursive: true, force: true });
});

/** A temporary folder of this test file's, readable by the child processes it runs. */
export function scratchFolder(): string {
  if (folder === undefined) {
    folder = mkdtempSync(path.join(tmpdir(), 'bridgewall-preload-'));
    chmodSync(folder, 0o755);
  }
  return folder;
}

/** The shim test/helpers/`name`.c, built. */
export function preloadShim(name: string): string {
  let shim = built.get(name);
  if (shim === undefined) {
    shim = path.join(scratchFolder(), `${name}.so`);
    const source = path.join(__dirname, '..', '..', '..', 'test', 'helpers', `${name}.c`);
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', shim, source, '-ldl'], { timeout: 60_000 });
    built.set(name, shim);
  }
  return shim;
}

/** The environment of a child process with the shim `name` preloaded. */
export function withPreload(name: string): NodeJS.ProcessEnv {
  return { ...process.env, LD_PRELOAD: [process.env.LD_PRELOAD, preloadShim(name)].filter(Boolean).join(' ') };
}

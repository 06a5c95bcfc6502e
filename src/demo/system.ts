/**
 * The system tools the demo runs, always by absolute path: under npm,
 * node_modules/.bin comes first in PATH and may hold unrelated programs of
 * the same name (ava's dependency installs an `nft`).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Where Debian puts `ip`, `iptables` and `sh`; the first match wins. */
const SYSTEM_DIRECTORIES = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
/** No tool the demo runs needs longer; a hung one must not hang the demo. */
const TOOL_TIMEOUT_MS = 30_000;

/** Which Debian package provides each tool, for the error that says what to install. */
const PACKAGE_OF: Record<string, string> = { ip: 'iproute2', iptables: 'iptables', sh: 'dash' };

/** A demo failure with a stable code, like the library's errors, so the CLI prints one line with a hint. */
export class DemoError extends Error {
  constructor(readonly code: 'ENOTOOL' | 'EPERM' | 'ETOOL' | 'ECHECKS', message: string) {
    super(message);
  }
}

export function systemTool(name: string): string {
  const found = SYSTEM_DIRECTORIES.map((directory) => `${directory}/${name}`).find((file) => existsSync(file));
  if (found === undefined) {
    throw new DemoError('ENOTOOL', `${name} not found in ${SYSTEM_DIRECTORIES.join(', ')}; install it: apt-get install ${PACKAGE_OF[name] ?? name}`);
  }
  return found;
}

/** Runs a system tool with optional standard input and returns its standard output. */
export function runTool(name: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(systemTool(name), args, { timeout: TOOL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new DemoError('ETOOL', `${name} ${args.join(' ')} failed: ${(stderr || error.message).trim()}`));
      else resolve(stdout);
    });
    // A tool may exit without reading its input; that shows in its exit status, not as EPIPE here.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

/** Fails early, before anything is created, when the process cannot create and enter namespaces. */
export function requireCapabilities(): void {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  const effective = line === undefined ? 0n : BigInt(`0x${line.split(/\s+/)[1]}`);
  const has = (capability: bigint): boolean => ((effective >> capability) & 1n) === 1n;
  if (!has(CAP_NET_ADMIN) || !has(CAP_SYS_ADMIN)) {
    throw new DemoError('EPERM', 'the demo creates network namespaces, which needs CAP_NET_ADMIN and CAP_SYS_ADMIN');
  }
}

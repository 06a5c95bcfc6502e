/**
 * The system tools a sandbox runs, always by absolute path: under npm,
 * node_modules/.bin comes first in PATH and may hold unrelated programs of
 * the same name (ava's dependency installs an `nft`).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Where Debian puts `ip`, `iptables` and `sh`; the first match wins. */
const SYSTEM_DIRECTORIES = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
/** No tool a sandbox runs needs longer; a hung one must not hang its caller. */
const TOOL_TIMEOUT_MS = 30_000;
/** Room for a large ruleset listing (iptables-save, nft list) of 100,000 rules. */
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/** Which Debian package provides each tool, for the error that says what to install. */
const PACKAGE_OF: Record<string, string> = { ip: 'iproute2', iptables: 'iptables', sh: 'dash' };

/**
 * A sandbox failure with a stable code, like the library's errors, so the CLI
 * prints one line with a hint: ENOTOOL (a tool is missing), EPERM (no
 * privilege to create namespaces), ETOOL (a tool or an agent failed), ECHECKS
 * (connections in the sandbox did not behave as expected).
 */
export class SandboxError extends Error {
  constructor(readonly code: 'ENOTOOL' | 'EPERM' | 'ETOOL' | 'ECHECKS', message: string) {
    super(message);
  }
}

/** The tool's absolute path; a name with a slash is one already. */
export function systemTool(name: string): string {
  if (name.includes('/')) return name;
  const found = SYSTEM_DIRECTORIES.map((directory) => `${directory}/${name}`).find((file) => existsSync(file));
  if (found === undefined) {
    throw new SandboxError('ENOTOOL', `${name} not found in ${SYSTEM_DIRECTORIES.join(', ')}; install it: apt-get install ${PACKAGE_OF[name] ?? name}`);
  }
  return found;
}

/** Runs a system tool with optional standard input and returns its standard output. */
export function runTool(name: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(systemTool(name), args, { timeout: TOOL_TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES }, (error, stdout, stderr) => {
      if (error) reject(new SandboxError('ETOOL', `${name} ${args.join(' ')} failed: ${(stderr || error.message).trim()}${failedLine(stderr, input)}`));
      else resolve(stdout);
    });
    // A tool may exit without reading its input; that shows in its exit status, not as EPIPE here.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** iptables-restore, nft -f and `ip -batch` name the input line they stopped at: quote it rather than the whole input. */
function failedLine(stderr: string, input: string | undefined): string {
  const number = /line (\d+)/.exec(stderr)?.[1];
  return number === undefined || input === undefined ? '' : `\n  line ${number}: ${input.split('\n')[Number(number) - 1] ?? ''}`;
}

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

/** Why this process cannot create and enter network namespaces, or undefined when it can. */
export function namespacePrivilegeProblem(): string | undefined {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  const effective = line === undefined ? 0n : BigInt(`0x${line.split(/\s+/)[1]}`);
  const has = (capability: bigint): boolean => ((effective >> capability) & 1n) === 1n;
  return has(CAP_NET_ADMIN) && has(CAP_SYS_ADMIN)
    ? undefined
    : 'creating network namespaces needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)';
}

/** Fails early, before anything is created, when the process cannot create and enter namespaces. */
export function requireNamespacePrivileges(): void {
  const problem = namespacePrivilegeProblem();
  if (problem !== undefined) throw new SandboxError('EPERM', problem);
}

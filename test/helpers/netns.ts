/**
 * Throwaway network namespaces for kernel tests. Every namespace gets a
 * unique name, is registered for deletion when the test ends (pass or fail)
 * and again when the process exits, so nothing is left on the machine.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test, { type ExecutionContext, type Implementation } from 'ava';
import { RECORD_DIR } from '../../src/backends/iptables/owner-record.js';
import { binding } from '../../src/native/binding.js';

const execFileAsync = promisify(execFile);

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

function effectiveCapabilities(): bigint {
  const status = readFileSync('/proc/self/status', 'utf8');
  const line = status.split('\n').find((l) => l.startsWith('CapEff:'));
  return line ? BigInt(`0x${line.split(/\s+/)[1]}`) : 0n;
}

const caps = effectiveCapabilities();
/** Why kernel tests cannot run here, or undefined when they can. */
export const kernelSkipReason =
  (caps >> CAP_NET_ADMIN) & 1n && (caps >> CAP_SYS_ADMIN) & 1n
    ? undefined
    : 'needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces';

/**
 * Declares a test that talks to the kernel. Without privileges it is skipped
 * with the reason, except under CI=true, where it fails instead.
 */
export function kernelTest(title: string, implementation: Implementation<[]>): void {
  if (kernelSkipReason === undefined) {
    test(title, implementation);
  } else if (process.env.CI === 'true') {
    test(title, (t) => t.fail(`CI=true but kernel tests cannot run: ${kernelSkipReason}`));
  } else {
    test.skip(`${title} (skipped: ${kernelSkipReason})`, () => {});
  }
}

export interface TestNetns {
  readonly name: string;
  /** The path the library is given: /run/netns/NAME. */
  readonly path: string;
  /** Runs a command inside the namespace and returns its stdout. */
  run(command: string, ...args: string[]): Promise<string>;
}

/**
 * System tools by absolute path: under npm, node_modules/.bin comes first in
 * PATH and holds an unrelated `nft` (ava's @vercel/nft).
 */
export function systemTool(command: string): string {
  if (command.includes('/')) return command;
  const found = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((dir) => `${dir}/${command}`).find((p) => existsSync(p));
  return found ?? command;
}

const live = new Set<string>();
let counter = 0;

/** The namespace cookies of the live namespaces: their iptables and iptables-nft owner records go with them. */
const cookies = new Map<string, string>();

function deleteNetns(name: string): void {
  if (!live.delete(name)) return;
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // Already gone.
  }
  forgetOwnerRecord(cookies.get(name));
  cookies.delete(name);
}

/**
 * A deleted namespace's owner record (with its lock and id files) is never
 * read again, but bridgewall keeps records until reboot (README, Ownership):
 * a test run would leave hundreds in /run/bridgewall.
 */
function forgetOwnerRecord(cookie: string | undefined): void {
  if (cookie === undefined || !existsSync(RECORD_DIR)) return;
  // One record per iptables flavour (legacy and nf_tables keep separate rules).
  const records = ['iptables', 'iptables-nft'].map((flavour) => `${flavour}-netns-cookie-${cookie}.json`);
  for (const file of readdirSync(RECORD_DIR)) {
    if (records.some((record) => file === record || file.startsWith(`${record}.`))) rmSync(join(RECORD_DIR, file), { force: true });
  }
}

process.on('exit', () => {
  for (const name of [...live]) deleteNetns(name);
});
// A test run stopped by a signal (ava's timeout, Ctrl-C, timeout(1)) deletes its namespaces too.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));
}
sweepOrphans();

/**
 * Deletes the namespaces of test processes that no longer exist: one killed
 * outright (SIGKILL) could not delete its own. Only names this helper makes,
 * `bwt-LABEL-PID-N`, whose PID is gone.
 */
function sweepOrphans(): void {
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^bwt-.+-(\d+)-\d+$/.exec(name);
    if (!match || processExists(Number(match[1]))) continue;
    live.add(name);
    deleteNetns(name);
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface NetnsOptions {
  /**
   * IPv4 and IPv6 forwarding on, as on a Docker host (Docker's goldens come
   * from one, and the nftables backend refuses to apply without it, as
   * Docker's does); default true. false: a fresh namespace's, off.
   */
  forwarding?: boolean;
}

const FORWARDING_ON = 'echo 1 > /proc/sys/net/ipv4/ip_forward; for f in /proc/sys/net/ipv6/conf/all/forwarding /proc/sys/net/ipv6/conf/default/forwarding; do [ -e $f ] && echo 1 > $f; done; true';

/** Creates a namespace that is deleted when the test `t` finishes. */
export async function createNetns(t: ExecutionContext, label = 'ns', options: NetnsOptions = {}): Promise<TestNetns> {
  const name = `bwt-${label}-${process.pid}-${++counter}`;
  await execFileAsync('ip', ['netns', 'add', name], { timeout: 10_000 });
  live.add(name);
  t.teardown(() => deleteNetns(name));
  const { cookie } = await binding.netnsIdentity(`/run/netns/${name}`);
  if (cookie !== null) cookies.set(name, cookie);
  await execFileAsync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'], { timeout: 10_000 });
  if (options.forwarding ?? true) await execFileAsync('ip', ['netns', 'exec', name, 'sh', '-c', FORWARDING_ON], { timeout: 10_000 });
  return {
    name,
    path: `/run/netns/${name}`,
    async run(command: string, ...args: string[]) {
      const { stdout } = await execFileAsync(systemTool('ip'), ['netns', 'exec', name, systemTool(command), ...args], {
        timeout: 30_000,
        maxBuffer: 256 * 1024 * 1024,
      });
      return stdout;
    },
  };
}

/** `iptables-save` output without comment lines and with counters zeroed. */
export function normaliseSave(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]$/, '[0:0]'))
    .join('\n');
}

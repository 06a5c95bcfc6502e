/**
 * Runs a system tool inside a test namespace with text on its standard
 * input (iptables-restore, `ip -batch -`), which TestNetns.run cannot pass.
 */
import { execFile } from 'node:child_process';
import { systemTool, type TestNetns } from '../helpers/netns.js';

const TOOL_TIMEOUT_MS = 30_000;

export function runWithInput(netns: TestNetns, tool: string, args: readonly string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      systemTool('ip'), ['netns', 'exec', netns.name, systemTool(tool), ...args],
      { timeout: TOOL_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${tool} ${args.join(' ')} in ${netns.name} failed: ${stderr || error.message}${failedLine(stderr, input)}`));
        else resolve(stdout);
      },
    );
    // A tool may exit without reading its input; that shows in its exit status, not as EPIPE here.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

/** iptables-restore and `ip -batch` name the input line they stopped at: quote it rather than the whole input. */
function failedLine(stderr: string, input: string): string {
  const number = /line (\d+)/.exec(stderr)?.[1];
  return number === undefined ? '' : `\n  line ${number}: ${input.split('\n')[Number(number) - 1] ?? ''}`;
}

/** Runs `ip` commands, one per line, in a single process inside the namespace. */
export async function ipBatch(netns: TestNetns, commands: readonly string[]): Promise<void> {
  if (commands.length > 0) await runWithInput(netns, 'ip', ['-batch', '-'], `${commands.join('\n')}\n`);
}

/** Writes kernel settings inside the namespace, e.g. `net/ipv4/ip_forward` = `1`. */
export async function writeSysctls(netns: TestNetns, settings: ReadonlyMap<string, string>): Promise<void> {
  if (settings.size > 0) await netns.run('sysctl', '-q', '-w', ...[...settings].map(([key, value]) => `${key}=${value}`));
}

/** Runs the bridgewall command as a user would: a separate node process, bounded in time. */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** Killed for running longer than allowed. */
  killed?: boolean;
}

export async function cli(...args: string[]): Promise<Run> {
  return cliWithin(60_000, ...args);
}

/** The command, killed after `ms` milliseconds. */
export async function cliWithin(ms: number, ...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { timeout: ms });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string; killed: boolean };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr, killed: failed.killed };
  }
}

/** The command with `input` on its standard input (written until it ends or the command stops reading), killed after `ms`. */
export async function cliWithInput(ms: number, input: Readable, ...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: ms });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  // The command may stop reading early (that is what a cap does): the rest of the input is dropped.
  child.stdin.on('error', () => input.destroy());
  input.pipe(child.stdin);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  return { code: code ?? -1, stdout, stderr, killed: signal !== null };
}

/** A spec file in a fresh directory, readable by any user. */
export function specFile(spec: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bridgewall-cli-'));
  chmodSync(dir, 0o755); // readable by an unprivileged run
  const file = path.join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

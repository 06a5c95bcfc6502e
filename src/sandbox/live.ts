/**
 * The namespaces this process has created and not yet deleted, and what goes
 * with each (its iptables owner record). Deletion is synchronous, so it runs
 * alike from a `finally`, a test's teardown, an exit handler or a signal
 * handler: while any namespace lives, the process's exit and its ending by
 * SIGINT, SIGTERM or SIGHUP (Ctrl-C, a test runner's timeout, timeout(1))
 * delete them all first.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { systemTool } from './tools.js';

/** Namespace name → the path of its iptables owner record, if it has one. */
const live = new Map<string, readonly string[]>();

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Records a namespace before it is created, so that one half made is deleted too. */
export function track(name: string): void {
  if (live.size === 0) installHandlers();
  live.set(name, []);
}

/** Where the namespace's iptables owner records would be (one per flavour): they are deleted with the namespace. */
export function trackOwnerRecords(name: string, records: readonly string[]): void {
  if (live.has(name)) live.set(name, records);
}

/** Deletes the namespace (if this process created it and it still exists) and its owner record. */
export function deleteNamespace(name: string): void {
  if (!live.has(name)) return;
  const records = live.get(name) ?? [];
  live.delete(name);
  try {
    execFileSync(systemTool('ip'), ['netns', 'del', name], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // Never created, or already gone.
  }
  for (const record of records) forgetOwnerRecord(record);
  if (live.size === 0) removeHandlers();
}

/**
 * A deleted namespace's owner record (with its lock and temporary files) is
 * never read again, but bridgewall keeps records until reboot (README,
 * Ownership): every sandbox would leave one in /run/bridgewall.
 */
function forgetOwnerRecord(record: string): void {
  const directory = dirname(record);
  const name = basename(record);
  let files: string[];
  try {
    files = readdirSync(directory);
  } catch {
    return;
  }
  for (const file of files) {
    if (file === name || file.startsWith(`${name}.`)) rmSync(join(directory, file), { force: true });
  }
}

function deleteAll(): void {
  for (const name of [...live.keys()]) deleteNamespace(name);
}

/**
 * After deleting, the signal's default action ends the process, as it would
 * have without the sandbox; unless the process handles the signal itself,
 * in which case that handler has had it already.
 */
function onSignal(signal: NodeJS.Signals): void {
  deleteAll();
  removeHandlers();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHandlers(): void {
  process.on('exit', deleteAll);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function removeHandlers(): void {
  process.off('exit', deleteAll);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/**
 * Deletes the namespaces named `PREFIX-PID-...` whose process no longer
 * exists: one killed outright (SIGKILL) could not delete its own.
 */
export function sweepOrphans(prefix: string): void {
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return;
  }
  const pattern = new RegExp(`^${prefix}-(\\d+)-`);
  for (const name of names) {
    const pid = pattern.exec(name)?.[1];
    if (pid === undefined || processExists(Number(pid))) continue;
    track(name);
    deleteNamespace(name);
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

/**
 * The record of what bridgewall's iptables backend has programmed in a
 * namespace (see ownership.ts for why it cannot be read off
 * the rules): a small JSON file under /run/bridgewall, named after the
 * namespace's cookie (SO_NETNS_COOKIE: never reused until reboot, unlike its
 * inode number), so that any process (one started after a crash included)
 * finds it, and a namespace created later never inherits it. /run is emptied
 * at boot, as are namespaces and their tables.
 *
 * Each commit updates the record twice: before, with what the commit is about
 * to program added, and after, with what it removed taken out. A commit
 * that fails takes back what the first update added (takeBack); a process
 * killed in between leaves a record that claims too much of what was ours,
 * never anything of someone else's. Each update is made on the record as it
 * is then, under a lock file (an flock the kernel lets go of when its holder
 * dies: native/file_lock.cc), so that processes sharing a namespace add their
 * claims up; it replaces the file atomically (rename), so a reader sees one
 * record or the other, never half of one.
 */
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callNative, NetfilterError, type NetfilterErrorCode } from '../../errors.js';
import { addedClaims, nothingOwned, withoutClaims, type OwnedFamily, type OwnedState } from './ownership.js';
import { binding } from '../../native/binding.js';

/** The iptables flavours, each with its own rules and record: legacy x_tables, and nf_tables as iptables-nft writes them. */
export type IptablesFlavour = 'iptables' | 'iptables-nft';
export const IPTABLES_FLAVOURS: readonly IptablesFlavour[] = ['iptables', 'iptables-nft'];

export const RECORD_DIR = '/run/bridgewall';
const VERSION = 1;
/** How long an update waits for another process's (a few file operations long) before it gives up. */
const LOCK_TIMEOUT_MS = 10_000;

export class OwnerRecord {
  /** The record as this process last read or wrote it (JSON), to write only what changed. */
  private last: string | undefined;

  private constructor(private readonly path: string) {}

  /** The record of one flavour's rules (legacy and nf_tables hold separate rules) in the namespace at `netns` (default: the caller's). */
  static async open(flavour: IptablesFlavour, netns: string | undefined): Promise<OwnerRecord> {
    return new OwnerRecord(await ownerRecordPath(flavour, netns));
  }

  /** What the record holds; nothing when there is none (or it cannot be read: then nothing is claimed). */
  async read(): Promise<OwnedState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      this.last = undefined;
      return nothingOwned();
    }
    const state = parseRecord(text);
    this.last = state ? JSON.stringify(state) : undefined;
    return state ?? nothingOwned();
  }

  /**
   * Replaces the record with what `change` makes of it as it is now, under
   * the lock. A record the change leaves as it is is left without taking the
   * lock (a dozen file operations): a write replaces the file whole, so the
   * record read is one that held, and the update is made as of that read.
   * Resolves to what the update added (addedClaims), for takeBack.
   */
  async update(change: (current: OwnedState) => OwnedState): Promise<OwnedState> {
    const lock = `${this.path}.lock`;
    try {
      const current = await this.read();
      if (this.last !== undefined && JSON.stringify(change(current)) === this.last) return nothingOwned();
      await mkdir(RECORD_DIR, { recursive: true, mode: 0o700 });
      const held = await callNative(() => binding.lockFile(lock, LOCK_TIMEOUT_MS));
      try {
        const before = await this.read();
        const after = change(before);
        await this.write(after);
        return addedClaims(before, after);
      } finally {
        held.release();
      }
    } catch (error) {
      throw recordFailure(error);
    }
  }

  /**
   * Takes back `claims`, what updates made before a commit added, when the
   * commit failed: the kernel holds none of it, and a record that goes on
   * claiming it would let a later apply take a rule someone else writes so
   * for ours. Another process that claimed the same meanwhile loses that
   * claim: its rule is then left alone as not ours, never deleted. Never
   * fails: the caller reports the commit's failure, and a record that cannot
   * be written now keeps the claims until an apply settles it, as a process
   * killed before its commit leaves it.
   */
  async takeBack(claims: OwnedState): Promise<void> {
    if (claimsNothing(claims)) return;
    await this.update((owned) => withoutClaims(owned, claims)).catch(() => undefined);
  }

  /** Replaces the record atomically; a record that claims nothing is removed. */
  private async write(state: OwnedState): Promise<void> {
    const text = JSON.stringify(state);
    if (text === this.last) return;
    if (claimsNothing(state)) {
      await unlink(this.path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    } else {
      await mkdir(RECORD_DIR, { recursive: true, mode: 0o700 });
      const temporary = `${this.path}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify({ version: VERSION, ...state }), { mode: 0o600 });
      await rename(temporary, this.path);
    }
    this.last = text;
  }
}

/** Where the record of the namespace at `netns` (default: the caller's) is, whether or not there is one. */
export async function ownerRecordPath(flavour: IptablesFlavour, netns: string | undefined): Promise<string> {
  return join(RECORD_DIR, `${flavour}-netns-${await namespaceId(netns)}.json`);
}

/**
 * The namespace's cookie; on a kernel without cookies (before 5.14), its
 * device and inode, which a namespace created after its deletion may reuse.
 */
async function namespaceId(netns: string | undefined): Promise<string> {
  const { device, inode, cookie } = await callNative(() => binding.netnsIdentity(netns ?? ''));
  return cookie === null ? `inode-${device}-${inode}` : `cookie-${cookie}`;
}

const FILE_CODES: ReadonlySet<string> = new Set(['EPERM', 'EACCES', 'EIO', 'ENOSPC', 'ENOENT', 'ENOTDIR', 'EMFILE', 'ENFILE']);

/** A file system failure as the NetfilterError of the call it failed (e.g. /run not writable). */
function recordFailure(error: unknown): unknown {
  const failure = error as NodeJS.ErrnoException;
  if (error instanceof NetfilterError || typeof failure?.code !== 'string') return error;
  return new NetfilterError({
    code: (FILE_CODES.has(failure.code) ? failure.code : 'UNKNOWN') as NetfilterErrorCode,
    errno: Math.abs(failure.errno ?? 0), operation: 'owner.record', message: `cannot update the owner record: ${failure.message}`,
  });
}

function claimsNothing(state: OwnedState): boolean {
  return Object.values(state).every((family) =>
    !family.daemon && family.ingress === undefined && family.loopbackDrops.length === 0 && Object.keys(family.networks).length === 0);
}

/** The record's state, or undefined when it is not one this version wrote. */
function parseRecord(text: string): OwnedState | undefined {
  try {
    const value = JSON.parse(text) as { version?: unknown; ipv4?: unknown; ipv6?: unknown };
    if (value.version !== VERSION || !isOwnedFamily(value.ipv4) || !isOwnedFamily(value.ipv6)) return undefined;
    return { ipv4: value.ipv4, ipv6: value.ipv6 };
  } catch {
    return undefined;
  }
}

function isOwnedFamily(value: unknown): value is OwnedFamily {
  if (typeof value !== 'object' || value === null) return false;
  const family = value as Partial<OwnedFamily>;
  return typeof family.networks === 'object' && family.networks !== null &&
    Object.values(family.networks).every((subnet) => typeof subnet === 'string') &&
    typeof family.daemon === 'boolean' &&
    (family.ingress === undefined || typeof family.ingress === 'string') &&
    Array.isArray(family.loopbackDrops) && family.loopbackDrops.every((rule) => typeof rule === 'string');
}

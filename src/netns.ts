/**
 * The network namespace a Firewall works on, named by a path. Kernel handles
 * hold the namespace they opened, not the path: one deleted (or replaced by
 * another at the same path) under an open Firewall would keep being
 * programmed where nobody can see it. So the namespace is checked when the
 * Firewall opens (it exists, is a network namespace, and the caller may enter
 * it), and before every later call the path must still name that namespace:
 * the same device and inode of its nsfs file. The low-level APIs
 * (NftConnection, IptcTable) check only the form of the path they are given.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { callNative, invalid, NetfilterError } from './errors.js';
import { binding } from './native/binding.js';

interface Identity {
  device: number;
  inode: number;
}

/**
 * The low-level APIs' check of a `netns` option, before the addon enters it:
 * a path, or '' (the caller's own namespace) when absent. Whether it names a
 * network namespace the kernel says when the addon opens it.
 */
export function checkNetns(netns: unknown): string {
  if (netns === undefined) return '';
  if (typeof netns !== 'string' || netns.length === 0 || netns.includes('\0')) {
    invalid('netns', 'a network namespace path such as /run/netns/NAME', netns);
  }
  return netns;
}

export class NamespacePath {
  private constructor(readonly path: string, private readonly identity: Identity) {}

  /**
   * Checks `netns` before anything is written there. Refused: a relative
   * path (it would name something else once the process changes directory)
   * and a path naming the caller's own namespace (`/proc/self/ns/net`,
   * `/proc/1/ns/net` from the host), which is asked for by giving no path.
   */
  static async open(netns: unknown): Promise<NamespacePath> {
    if (typeof netns !== 'string' || !path.isAbsolute(netns) || netns.includes('\0')) {
      invalid('netns', 'an absolute network namespace path such as /run/netns/NAME', netns);
    }
    const identity = await callNative(() => binding.netnsIdentity(netns));
    const own = statSync('/proc/self/ns/net');
    if (own.dev === identity.device && own.ino === identity.inode) {
      invalid('netns', "another namespace than the caller's own (give no netns to work on the caller's own)", netns);
    }
    return new NamespacePath(netns, identity);
  }

  /** Throws NetfilterError ENOENT when the path no longer names the namespace first opened. */
  check(): void {
    let status;
    try {
      status = statSync(this.path);
    } catch (error) {
      throw gone(this.path, `can no longer be found (${(error as NodeJS.ErrnoException).code})`);
    }
    if (status.dev !== this.identity.device || status.ino !== this.identity.inode) {
      throw gone(this.path, 'now names another namespace than the one this Firewall opened');
    }
  }
}

function gone(netns: string, what: string): NetfilterError {
  return new NetfilterError({
    code: 'ENOENT', errno: 2, operation: 'netns.check',
    message: `the network namespace ${netns} ${what}: open a new Firewall on the namespace meant`,
  });
}

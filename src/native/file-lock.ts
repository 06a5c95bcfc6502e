/** Private types of the addon's lock files (native/file_lock.cc). */
export interface NativeFileLockBinding {
  /**
   * Takes an exclusive flock on `path` (created 0600 if missing) on a worker
   * thread, retrying for up to `timeoutMs`; rejects with EBUSY (operation
   * `owner.lock`) when it stays held. The kernel lets go of it when the
   * process dies.
   */
  lockFile(path: string, timeoutMs: number): Promise<NativeFileLock>;
}

export interface NativeFileLock {
  /** Removes the lock file and lets go of the lock. Safe to call twice. */
  release(): void;
}

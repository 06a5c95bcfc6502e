/**
 * Errors thrown by bridgewall. Every error has a stable string `code` to
 * branch on; messages are for people and may change.
 */

/**
 * Codes of kernel and system failures; `UNKNOWN` keeps the numeric `errno`.
 * `ECONFLICT` (errno 0) is bridgewall's own: the change would alter another
 * manager's rules (e.g. a Docker daemon's), so nothing was committed. The
 * addon's codes are those of native/error_codes.json (the one table, built
 * into the addon; test/error-codes.test.ts keeps this type in step).
 */
export type NetfilterErrorCode =
  | 'ECONFLICT'
  | 'EPERM' | 'ENOENT' | 'EINTR' | 'EIO' | 'E2BIG' | 'EBADF' | 'EAGAIN' | 'ENOMEM'
  | 'EACCES' | 'EFAULT' | 'EBUSY' | 'EEXIST' | 'ENODEV' | 'ENOTDIR' | 'EINVAL'
  | 'ENFILE' | 'EMFILE' | 'ENOSPC' | 'ERANGE' | 'ENAMETOOLONG' | 'ENOTEMPTY'
  | 'ELOOP' | 'ERESTART' | 'EMSGSIZE' | 'EPROTONOSUPPORT' | 'EOPNOTSUPP'
  | 'EAFNOSUPPORT' | 'ENOBUFS' | 'ETIMEDOUT' | 'ENXIO' | 'EOVERFLOW' | 'ENOPROTOOPT'
  /** A host port another writer holds in the kernel (ports of one spec clash as a ValidationError instead). */
  | 'EADDRINUSE'
  /** The kernel has no legacy x_tables (ip_tables, ip6_tables or the table's module): use the nftables backend. */
  | 'ENOLEGACY'
  /** IP forwarding is off and the backend does not turn it on (nftables, as Docker's): enable it, or set `ipForward: false`. */
  | 'ENOFORWARDING'
  | 'UNKNOWN';

/** A failure reported by the kernel or the system while talking to netfilter. */
export class NetfilterError extends Error {
  override readonly name = 'NetfilterError';
  /** Stable code, e.g. `EEXIST`, or `ERESTART` when the ruleset changed under a commit. */
  readonly code: NetfilterErrorCode;
  /** The numeric errno (0 when the failure has none). */
  readonly errno: number;
  /** Which operation failed, e.g. `nft.commit`, `iptc.commit`, `netns.open`. */
  readonly operation: string;
  /** For batches and transactions: the index of the object the kernel rejected. */
  readonly index?: number;
  /** For batches and transactions: a short description of that object. */
  readonly object?: string;

  constructor(fields: {
    code: NetfilterErrorCode;
    errno: number;
    operation: string;
    message: string;
    index?: number;
    object?: string;
  }) {
    super(fields.message);
    this.code = fields.code;
    this.errno = fields.errno;
    this.operation = fields.operation;
    if (fields.index !== undefined) this.index = fields.index;
    if (fields.object !== undefined) this.object = fields.object;
  }
}

/** Input rejected before anything reached the kernel. `field` names what was wrong. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly code = 'EVALIDATION' as const;
  /** Path of the offending value, e.g. `networks[0].ipv4.subnet`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** Throws a ValidationError worded "Expected X for FIELD but received Y". */
export function invalid(field: string, expected: string, received: unknown): never {
  throw new ValidationError(field, `Expected ${expected} for ${field} but received ${describe(received)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}

interface RawNativeError {
  message: string;
  code?: string;
  errno?: number;
  operation?: string;
  index?: number;
}

/**
 * Awaits a native call and rethrows its failure as a NetfilterError whose
 * stack is the caller's, not the worker callback's (which says nothing).
 * `describeObject` names the batch object at the failing index.
 */
export async function callNative<T>(
  run: () => Promise<T>,
  describeObject?: (index: number) => string | undefined,
): Promise<T> {
  const caller: { stack?: string } = {};
  Error.captureStackTrace(caller, callNative);
  try {
    return await run();
  } catch (raw) {
    throw toNetfilterError(raw as RawNativeError, caller.stack, describeObject);
  }
}

/** callNative for the addon's few synchronous calls. */
export function callNativeSync<T>(run: () => T): T {
  const caller: { stack?: string } = {};
  Error.captureStackTrace(caller, callNativeSync);
  try {
    return run();
  } catch (raw) {
    throw toNetfilterError(raw as RawNativeError, caller.stack);
  }
}

function toNetfilterError(
  raw: RawNativeError,
  callerStack: string | undefined,
  describeObject?: (index: number) => string | undefined,
): Error {
  if (raw instanceof NetfilterError || raw.code === undefined || raw.operation === undefined) return raw as Error;
  const object = raw.index !== undefined ? describeObject?.(raw.index) : undefined;
  const error = new NetfilterError({
    code: raw.code as NetfilterErrorCode,
    errno: raw.errno ?? 0,
    operation: raw.operation,
    message: object ? `${raw.message} (${object})` : raw.message,
    ...(raw.index !== undefined ? { index: raw.index } : {}),
    ...(object !== undefined ? { object } : {}),
  });
  if (callerStack) {
    const frames = callerStack.split('\n').slice(1).join('\n');
    error.stack = `${error.name} [${error.code}]: ${error.message}\n${frames}`;
  }
  return error;
}

/**
 * A host port another writer holds: several Firewalls (processes) may edit
 * one namespace, and the kernel is the only state they share, so a host port
 * is held by whoever's DNAT mapping the kernel holds for it. Publishing it
 * again to another target is refused with this error, in both backends, and
 * nothing is committed.
 */
import { constants } from 'node:os';
import { NetfilterError } from '../errors.js';
import type { Family } from '../family.js';

export interface HeldPort {
  family: Family;
  proto: string;
  /** undefined: every address of the family. */
  hostAddress: string | undefined;
  hostPort: number;
  /** The target of the DNAT the kernel holds. */
  containerAddress: string;
  containerPort: number;
}

export function hostPortHeld(held: HeldPort): NetfilterError {
  const where = held.hostAddress === undefined ? 'every address' : held.hostAddress;
  const target = held.family === 'ipv6' ? `[${held.containerAddress}]:${held.containerPort}` : `${held.containerAddress}:${held.containerPort}`;
  return new NetfilterError({
    code: 'EADDRINUSE',
    errno: constants.errno.EADDRINUSE,
    operation: 'ports.publish',
    message: `${held.proto} port ${held.hostPort} on ${where} (${held.family}) is held by ${target} in the kernel, ` +
      'published by another writer: remove it there first',
  });
}

/**
 * What both backends do when a commit loses a race: the kernel refused it
 * (ERESTART) because another writer, this library in another process or a
 * system tool, changed the ruleset since it was read. Each loss means that
 * writer made progress, so the change is computed again from a fresh read,
 * after a short random wait so that two losers do not collide again in
 * lockstep.
 */
import { NetfilterError } from '../errors.js';

/** How often a change is computed and committed before a lost race is reported. */
const MAX_COMMIT_ATTEMPTS = 100;
const MAX_BACKOFF_MS = 50;

/**
 * Whether attempt number `attempt` failed with `error` only because it lost
 * a race, with attempts left: then resolves true after the wait, and the
 * caller reads and commits again; else false, and the caller throws `error`.
 */
export async function retryAfterLostRace(error: unknown, attempt: number): Promise<boolean> {
  if (!(error instanceof NetfilterError && error.code === 'ERESTART') || attempt >= MAX_COMMIT_ATTEMPTS) return false;
  await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(MAX_BACKOFF_MS, attempt * 2)));
  return true;
}

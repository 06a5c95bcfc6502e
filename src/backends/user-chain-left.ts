/**
 * WDOCKERUSERLEFT: a flush keeps the user's rules in DOCKER-USER (they are
 * theirs), but it removed every jump to the chain, so they filter nothing
 * any more; after a backend switch the user would not otherwise know.
 */
import { FAMILY_NAMES, type Family } from '../family.js';
import type { Warning } from '../warnings.js';
import type { BackendName } from './backend.js';

/** `where`: the table, as the backend's tool names it; `removal`: the commands that remove the chain. */
export function userChainLeft(backend: BackendName, family: Family, where: string, rules: number, removal: string): Warning {
  return {
    code: 'WDOCKERUSERLEFT',
    message: `The ${backend} backend's DOCKER-USER chain (${FAMILY_NAMES[family]}, ${where}) still holds ${rules} rule${rules === 1 ? '' : 's'}, ` +
      `which bridgewall keeps as the user's, but nothing jumps to it any more, so they filter nothing: apply with backend ${backend} again, ` +
      `or delete the chain (${removal})`,
  };
}

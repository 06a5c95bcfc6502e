/**
 * Our table as the kernel holds it, decoded into an image the diff compares
 * with the plan. Everything in the table is ours (its name says so) except
 * the rules of the user's chain, which are read but never compared.
 */
import type { NftTableState } from '../../nft/connection.js';
import { HOOK, POLICY, type NftFamily, type NftHook, type NftPolicy } from '../../nft/constants.js';
import { declarationOf } from './elements.js';
import { emptyImage, signatureOf, type BaseChain, type ChainImage, type TableImage } from './image.js';
import { USER_CHAIN } from './layout.js';
import { SetElements } from './set-elements.js';

const HOOK_NAMES = new Map<number, NftHook>(Object.entries(HOOK).map(([name, n]) => [n, name as NftHook]));
const POLICY_NAMES = new Map<number, NftPolicy>(Object.entries(POLICY).map(([name, n]) => [n, name as NftPolicy]));

/** The image of the table read back, or null when it does not exist. */
export function decodeTable(family: NftFamily, state: NftTableState): TableImage | null {
  if (state.table === null) return null;
  const image = emptyImage(family, state.table.name);
  for (const chain of state.chains) {
    const decoded: ChainImage = { name: chain.name, userOwned: chain.name === USER_CHAIN, rules: [] };
    if (chain.hook !== undefined) {
      decoded.base = {
        type: (chain.type ?? 'filter') as BaseChain['type'],
        hook: HOOK_NAMES.get(chain.hook) ?? ('unknown' as NftHook),
        priority: chain.priority ?? 0,
        policy: POLICY_NAMES.get(chain.policy ?? POLICY.accept) ?? 'accept',
      };
    }
    image.chains.set(chain.name, decoded);
  }
  for (const rule of state.rules) {
    image.chains.get(rule.chain)?.rules.push({
      signature: signatureOf(rule.exprs, rule.comment), exprs: rule.exprs,
      ...(rule.comment !== undefined ? { comment: rule.comment } : {}),
    });
  }
  for (const set of state.sets) {
    // A set of types we never write is still ours: declared with no types, it differs from any plan and is replaced.
    const declaration = declarationOf(set) ?? { key: [] };
    // Its elements stay packed as read: compared as bytes, decoded only when shown.
    image.sets.set(set.name, {
      name: set.name, ...declaration,
      elements: declaration.key.length > 0 ? SetElements.packed(declaration, set) : SetElements.empty(declaration),
    });
  }
  return image;
}

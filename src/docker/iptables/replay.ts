/**
 * Docker's sequence of firewaller calls for one family, as the rule changes
 * each makes: set-up, then each network followed by its endpoints, each
 * endpoint followed by its port bindings, then the swarm ingress (see
 * plan.ts). The plan replays all of it; a port change walks it from one
 * binding on, forward or backward, to find the rules the plan puts next to
 * that binding's (backends/iptables/port-path.ts).
 */
import type { FamilyModel, IngressModel } from '../model.js';
import { bindingRules, daemonRules, endpointRules, ingressPortRules, ingressRules, networkRules, type RuleChange } from './rules.js';

/** A binding's place in the sequence: its network, endpoint and binding indexes. */
export interface BindingPosition {
  network: number;
  endpoint: number;
  binding: number;
}

/**
 * Every rule change of the sequence, in order, as each item's list (daemon,
 * network, endpoint, binding, ingress): the plan walks tens of thousands of
 * them, and a generator resumed once per item rather than per rule costs a
 * third as much.
 */
export function* replay(family: FamilyModel, ingress: IngressModel | undefined): Generator<readonly RuleChange[]> {
  yield daemonRules(family);
  yield* itemsAfter(family, ingress, { network: 0, endpoint: -1, binding: -1 }, true);
}

/**
 * The rule changes after the binding at `at` (or, with `inclusive`, from the
 * item at `at`: a network with endpoint -1, an endpoint with binding -1), in order.
 */
export function* rulesAfter(
  family: FamilyModel, ingress: IngressModel | undefined, at: BindingPosition, inclusive = false,
): Generator<RuleChange> {
  for (const changes of itemsAfter(family, ingress, at, inclusive)) yield* changes;
}

/** rulesAfter, each item's changes as one list. */
function* itemsAfter(
  family: FamilyModel, ingress: IngressModel | undefined, at: BindingPosition, inclusive: boolean,
): Generator<readonly RuleChange[]> {
  for (let n = at.network; n < family.networks.length; n++) {
    const network = family.networks[n]!;
    const firstEndpoint = n === at.network ? at.endpoint : -1;
    if (firstEndpoint === -1 && (n > at.network || inclusive)) yield networkRules(network);
    for (let e = Math.max(firstEndpoint, 0); e < network.endpoints.length; e++) {
      const endpoint = network.endpoints[e]!;
      const firstBinding = n === at.network && e === at.endpoint ? at.binding : -1;
      const from = firstBinding === -1 ? 0 : firstBinding + (inclusive ? 0 : 1);
      if (firstBinding === -1 && (n > at.network || e > at.endpoint || inclusive)) yield endpointRules(network, endpoint.address);
      for (let b = from; b < endpoint.bindings.length; b++) yield bindingRules(network, endpoint.bindings[b]!);
    }
  }
  if (ingress) {
    yield ingressRules(ingress);
    for (const port of ingress.ports) yield ingressPortRules(ingress, port);
  }
}

/** The rule changes before the binding at `at`, nearest first (each item's own in reverse). */
export function* rulesBefore(family: FamilyModel, at: BindingPosition): Generator<RuleChange> {
  for (let n = at.network; n >= 0; n--) {
    const network = family.networks[n]!;
    const lastEndpoint = n === at.network ? at.endpoint : network.endpoints.length - 1;
    for (let e = lastEndpoint; e >= 0; e--) {
      const endpoint = network.endpoints[e]!;
      const lastBinding = n === at.network && e === at.endpoint ? at.binding - 1 : endpoint.bindings.length - 1;
      for (let b = lastBinding; b >= 0; b--) yield* reversed(bindingRules(network, endpoint.bindings[b]!));
      yield* reversed(endpointRules(network, endpoint.address));
    }
    yield* reversed(networkRules(network));
  }
  yield* reversed(daemonRules(family));
}

function* reversed(changes: readonly RuleChange[]): Generator<RuleChange> {
  for (let i = changes.length - 1; i >= 0; i--) yield changes[i]!;
}

/**
 * A backend's plan of a model, computed once per model object: an imperative
 * call plans the model it starts from, which is the one the previous call
 * ended with, so each call plans one model instead of two.
 */
import type { FirewallModel } from '../docker/model.js';

export function planOncePerModel<Plan>(plan: (model: FirewallModel) => Plan): (model: FirewallModel) => Plan {
  const plans = new WeakMap<FirewallModel, Plan>();
  return (model) => {
    let planned = plans.get(model);
    if (planned === undefined) plans.set(model, planned = plan(model));
    return planned;
  };
}

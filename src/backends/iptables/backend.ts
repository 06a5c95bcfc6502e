/**
 * The legacy iptables backend: Docker's own rules, written through libiptc
 * with one commit per table, read back and diffed so that re-applying the
 * same model commits nothing.
 */
import { planIptables, renderIptablesSave, type IptablesPlan } from '../../docker/iptables/plan.js';
import { isOwnedRule, OWNED_CHAINS } from '../../docker/iptables/ownership.js';
import { CHAIN } from '../../docker/iptables/rules.js';
import { PLANNED_TABLES } from '../../docker/iptables/ruleset.js';
import type { FirewallModel } from '../../docker/model.js';
import { formatRule, formatTable } from '../../iptc/format.js';
import type { IptFamily } from '../../iptc/rule.js';
import { IptcTable } from '../../iptc/table.js';
import type { ApplyOutcome, Backend, BackendState } from '../backend.js';
import { applyPlan, planChanges, type TableChange } from './apply.js';

const FAMILIES: readonly IptFamily[] = ['ipv4', 'ipv6'];

/** Every table of both families without any chain or rule of ours. */
const EMPTY_PLAN: IptablesPlan = {
  families: FAMILIES.map((family) => ({ family, tables: PLANNED_TABLES.map((name) => ({ name, chains: [] })) })),
};

export class IptablesBackend implements Backend {
  readonly name = 'iptables' as const;

  private constructor(private readonly tables: IptcTable) {}

  static async open(options: { netns?: string } = {}): Promise<IptablesBackend> {
    return new IptablesBackend(await IptcTable.open(options.netns === undefined ? {} : { netns: options.netns }));
  }

  async apply(model: FirewallModel): Promise<ApplyOutcome> {
    return outcome(await applyPlan(this.tables, planIptables(model)));
  }

  async dryRun(model: FirewallModel): Promise<string> {
    const plan = planIptables(model);
    const changes = await planChanges(this.tables, plan);
    return plan.families
      .map((family) => {
        const count = changes.filter((change) => change.family === family.family).reduce((n, c) => n + c.operations.length, 0);
        const tool = family.family === 'ipv4' ? 'iptables' : 'ip6tables';
        return `# ${tool}: ${count} change(s) to commit; the tables will read:\n${renderIptablesSave(family.family, family)}`;
      })
      .join('');
  }

  async show(): Promise<BackendState> {
    const data = [];
    let text = '';
    for (const family of FAMILIES) {
      const tables = [];
      for (const table of PLANNED_TABLES) {
        const chains = (await this.tables.read(family, table))
          .map((chain) => ({
            name: chain.name,
            ...(chain.builtin ? { policy: chain.policy ?? 'ACCEPT' } : {}),
            rules: chain.rules.flatMap((entry) =>
              entry.rule && (OWNED_CHAINS.has(chain.name) || isOwnedRule(family, table, entry.rule)) ? [entry.rule] : []),
            owned: OWNED_CHAINS.has(chain.name) || chain.name === CHAIN.user,
          }))
          .filter((chain) => chain.owned || chain.rules.length > 0);
        if (chains.length === 0) continue;
        text += formatTable(family, { name: table, chains });
        tables.push({ name: table, chains: chains.map((chain) => ({ name: chain.name, rules: chain.rules.map((rule) => formatRule(family, rule)) })) });
      }
      if (tables.length > 0) data.push({ family, tables });
    }
    return { backend: this.name, text, data };
  }

  async flush(): Promise<ApplyOutcome> {
    const changes = await planChanges(this.tables, EMPTY_PLAN);
    // The user's chain goes only once it is empty and nothing jumps to it any more.
    for (const family of FAMILIES) {
      const user = (await this.tables.read(family, 'filter')).find((chain) => chain.name === CHAIN.user);
      if (!user || user.rules.length > 0) continue;
      const filter = changes.find((change) => change.family === family && change.table === 'filter');
      const deletion = { op: 'deleteChain' as const, chain: CHAIN.user };
      if (filter) filter.operations.push(deletion);
      else changes.push({ family, table: 'filter', operations: [deletion] });
    }
    for (const change of changes) await this.tables.transaction(change.family, change.table, change.operations);
    return outcome(changes);
  }

  close(): void {
    this.tables.close();
  }
}

function outcome(changes: readonly TableChange[]): ApplyOutcome {
  return { commits: changes.length, changes: changes.reduce((n, change) => n + change.operations.length, 0) };
}

/**
 * The legacy iptables backend: Docker's own rules, written through libiptc in
 * one all-or-nothing transaction over every table that changes, read back and
 * diffed so that re-applying the same model commits nothing.
 */
import { planIptables, renderIptablesSave, type IptablesPlan } from '../../docker/iptables/plan.js';
import { isOwnedRule, OWNED_CHAINS } from '../../docker/iptables/ownership.js';
import { CHAIN } from '../../docker/iptables/rules.js';
import { PLANNED_TABLES, type TablePlan } from '../../docker/iptables/ruleset.js';
import type { FirewallModel } from '../../docker/model.js';
import { formatRule, formatTable } from '../../iptc/format.js';
import type { IptFamily } from '../../iptc/rule.js';
import { IptcTable } from '../../iptc/table.js';
import { planOncePerModel } from '../plan-cache.js';
import type { ApplyOutcome, Backend, BackendState } from '../backend.js';
import { applyPlan, commitChanges, planChanges, type TableChange } from './apply.js';
import { diffTable } from './diff.js';
import { mergeTable } from './merge.js';

const FAMILIES: readonly IptFamily[] = ['ipv4', 'ipv6'];

export class IptablesBackend implements Backend {
  readonly name = 'iptables' as const;

  /** Plans by model: the model an edit starts from was planned by the edit before. */
  private readonly plan = planOncePerModel(planIptables);

  private constructor(private readonly tables: IptcTable) {}

  static async open(options: { netns?: string } = {}): Promise<IptablesBackend> {
    return new IptablesBackend(await IptcTable.open(options.netns === undefined ? {} : { netns: options.netns }));
  }

  async apply(model: FirewallModel): Promise<ApplyOutcome> {
    return outcome(await applyPlan(this.tables, planIptables(model)));
  }

  async applyChange(before: FirewallModel, after: FirewallModel): Promise<ApplyOutcome> {
    const was = this.plan(before);
    const will = this.plan(after);
    const tableOf = (plan: IptablesPlan, family: IptFamily, table: string) =>
      plan.families.find((f) => f.family === family)?.tables.find((t) => t.name === table) ?? { name: table as TablePlan['name'], chains: [] };
    return outcome(await commitChanges(this.tables, () => planChanges(this.tables, will, (family, table, current) =>
      mergeTable(family, current, tableOf(was, family, table), tableOf(will, family, table)))));
  }

  /** Legacy iptables has no generation to compare cheaply: every apply reads the tables back. */
  async inSync(): Promise<boolean> {
    return false;
  }

  async dryRun(model: FirewallModel): Promise<string> {
    const plan = planIptables(model);
    const changes = await planChanges(this.tables, plan, undefined, { readOnly: true });
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
      for (const table of await this.existing(family)) {
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

  async dropForwarded(families: readonly IptFamily[]): Promise<void> {
    await commitChanges(this.tables, async () => {
      const changes: TableChange[] = [];
      for (const family of families) {
        const { chains, fingerprint } = await this.tables.readWithFingerprint(family, 'filter');
        if (chains.find((chain) => chain.name === 'FORWARD')?.policy === 'DROP') continue;
        changes.push({ family, table: 'filter', operations: [{ op: 'setPolicy', chain: 'FORWARD', policy: 'DROP' }], fingerprint });
      }
      return changes;
    });
  }

  async flush(): Promise<ApplyOutcome> {
    return outcome(await commitChanges(this.tables, () => this.flushChanges()));
  }

  private async flushChanges(): Promise<TableChange[]> {
    const changes: TableChange[] = [];
    for (const family of FAMILIES) {
      for (const table of await this.existing(family)) {
        const { chains, fingerprint } = await this.tables.readWithFingerprint(family, table);
        const operations = diffTable(family, chains, { name: table, chains: [] });
        // The user's chain goes only once it is empty and nothing jumps to it any more.
        const user = chains.find((chain) => chain.name === CHAIN.user);
        if (user && user.rules.length === 0) operations.push({ op: 'deleteChain', chain: CHAIN.user });
        if (operations.length > 0) changes.push({ family, table, operations, fingerprint });
      }
    }
    return changes;
  }

  /** The planned tables that exist: show and flush never open (so never create) one that does not. */
  private async existing(family: IptFamily): Promise<TablePlan['name'][]> {
    const existing = await this.tables.existingTables(family);
    return PLANNED_TABLES.filter((table) => existing.includes(table));
  }

  close(): void {
    this.tables.close();
  }
}

function outcome(changes: readonly TableChange[]): ApplyOutcome {
  return { commits: changes.length, changes: changes.reduce((n, change) => n + change.operations.length, 0) };
}

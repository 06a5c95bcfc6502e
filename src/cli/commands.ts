/** The CLI commands, each reading already-parsed options and printing its outcome. */
import { BACKEND_NAMES, Firewall } from '../firewall.js';
import type { ApplyOutcome, BackendName } from '../backends/backend.js';
import { formatCounts } from '../backends/change-counts.js';
import { invalid, ValidationError } from '../errors.js';
import { formatWarning, type Warning } from '../warnings.js';
import { DEFAULT_BACKEND } from '../input/validate.js';
import { countersJson, formatCounters } from './counters.js';
import { readSpecText } from './spec-file.js';

export interface CommonOptions {
  netns?: string;
  json?: boolean;
}

async function readSpec(file: string): Promise<unknown> {
  const text = await readSpecText(file);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError('SPEC', `${file} is not valid JSON: ${(error as Error).message}`);
  }
}

function backendOf(name: string): BackendName {
  if (!BACKEND_NAMES.includes(name as BackendName)) invalid('--backend', `one of ${BACKEND_NAMES.join(', ')}`, name);
  return name as BackendName;
}

function backendsOf(name: string | undefined): BackendName[] {
  if (name === undefined) return BACKEND_NAMES;
  return [backendOf(name)];
}

async function withFirewall<T>(options: CommonOptions, run: (firewall: Firewall) => Promise<T>): Promise<T> {
  const firewall = await Firewall.open(options.netns === undefined ? {} : { netns: options.netns });
  try {
    return await run(firewall);
  } finally {
    firewall.close();
  }
}

export async function applyCommand(file: string, options: CommonOptions & { dryRun?: boolean; full?: boolean; adopt?: boolean }): Promise<string> {
  const read = await readSpec(file) as Parameters<Firewall['apply']>[0];
  const spec = options.adopt ? { ...read, adopt: true } : read;
  return withFirewall(options, async (firewall) => {
    if (options.dryRun) {
      const dryRun = await firewall.dryRun(spec, { full: options.full === true });
      return options.json ? `${JSON.stringify(dryRun)}\n` : dryRun.text;
    }
    const result = await firewall.apply(spec);
    printWarnings(result.warnings);
    if (options.json) return `${JSON.stringify(result)}\n`;
    const lines = [`applied with ${result.backend}: ${summary(result)}`];
    if (result.otherBackendChanges > 0) lines.push(`removed what other backends had programmed in the namespace: ${formatCounts(result.otherBackendCounts)}`);
    for (const { field, hostPort } of result.allocatedHostPorts) lines.push(`chose host port ${hostPort} for ${field}`);
    for (const name of result.sysctls.missing) lines.push(`note: ${name} does not exist (yet); create the interface and apply again`);
    for (const bridge of result.hairpin.missing) lines.push(`note: bridge ${bridge} does not exist (yet): hairpin mode not set on its ports`);
    return `${lines.join('\n')}\n`;
  });
}

/** What a commit added and deleted, and in how many kernel commits: `3 rules added, 0 deleted; 0 chains added, 0 deleted; 1 commit`. */
function summary({ counts, commits }: ApplyOutcome): string {
  return commits === 0 ? formatCounts(counts) : `${formatCounts(counts)}; ${commits} commit${commits === 1 ? '' : 's'}`;
}

/** Warnings go to stderr, one `warning: CODE: message` line each, whatever the output format (--json keeps them too). */
function printWarnings(warnings: readonly Warning[] | undefined): void {
  for (const warning of warnings ?? []) process.stderr.write(`${formatWarning(warning)}\n`);
}

export async function showCommand(options: CommonOptions & { backend?: string }): Promise<string> {
  const backends = backendsOf(options.backend);
  return withFirewall(options, async (firewall) => {
    const states = [];
    for (const backend of backends) states.push(await firewall.show(backend));
    if (options.json) return `${JSON.stringify(states.map(({ backend, data }) => ({ backend, families: data })))}\n`;
    return states.map((state) => `# bridgewall show --backend ${state.backend}\n${state.text}`).join('');
  });
}

/** Each binding of the spec in SPEC with its counters, on the backend the spec names. */
export async function countersCommand(file: string, options: CommonOptions): Promise<string> {
  const spec = await readSpec(file) as Parameters<Firewall['counters']>[0];
  return withFirewall(options, async (firewall) => {
    const counters = await firewall.counters(spec);
    const backend = (spec as { backend?: BackendName }).backend ?? DEFAULT_BACKEND;
    return options.json ? `${JSON.stringify({ backend, counters: countersJson(counters) })}\n` : formatCounters(backend, counters);
  });
}

export async function flushCommand(options: CommonOptions & { backend?: string }): Promise<string> {
  const backends = backendsOf(options.backend);
  return withFirewall(options, async (firewall) => {
    const lines = [];
    for (const backend of backends) {
      const outcome = await firewall.flush(backend);
      printWarnings(outcome.warnings);
      lines.push(`flushed ${backend}: ${summary(outcome)}`);
    }
    return options.json ? `${JSON.stringify({ flushed: backends })}\n` : `${lines.join('\n')}\n`;
  });
}

/**
 * Runs the sandboxed demo. Progress goes to standard output as it happens
 * (not with --json, whose output is one JSON document); the table is printed
 * even when a check fails, followed by the one error line.
 */
export async function demoCommand(options: { backend?: string; json?: boolean }): Promise<string> {
  // Loaded here: the demo's sandbox and checks are a tenth of the modules, and only this command needs them.
  const [{ runDemo }, { formatReport }, { SandboxError }] = await Promise.all([
    import('../demo/demo.js'), import('../demo/format.js'), import('../sandbox/tools.js'),
  ]);
  const report = await runDemo({
    ...(options.backend === undefined ? {} : { backend: backendOf(options.backend) }),
    ...(options.json ? {} : { progress: (line: string) => process.stdout.write(`${line}\n`) }),
  });
  const output = options.json ? `${JSON.stringify(report)}\n` : `\n${formatReport(report)}`;
  const failed = report.checks.filter((row) => !row.passed).length;
  if (failed === 0) return output;
  process.stdout.write(output);
  throw new SandboxError('ECHECKS', `${failed} of ${report.checks.length} checks failed (see the table)`);
}

/** The demo's report as text: the ruleset, the table of checks, the timing. */
import { DOCKER_RULES_PER_PORT } from './bulk.js';
import type { CheckRow } from './checks.js';
import type { DemoReport } from './demo.js';

const HEADER: CheckRow = { check: 'check', expected: 'expected', result: 'result', passed: true };

export function formatReport(report: DemoReport): string {
  const { bulk, forkSample } = report;
  const perProcessMs = forkSample.ms / forkSample.processes;
  const rules = bulk.ports * DOCKER_RULES_PER_PORT;
  const passed = report.checks.filter((row) => row.passed).length;
  return [
    `Ruleset bridgewall applied with ${report.backend}, read back from the sandbox's host namespace:`,
    indent(report.ruleset),
    '',
    formatTable(report.checks),
    '',
    `Bulk publish of ${bulk.ports.toLocaleString('en-US')} ports:`,
    `  bridgewall (${report.backend}): one call, ${bulk.commits} kernel commit(s), ${formatMs(bulk.ms)}`,
    `  one iptables process per rule: ${formatMs(report.forkEstimateMs)} (estimated: ${rules.toLocaleString('en-US')} rules x ${perProcessMs.toFixed(2)} ms,`,
    `    the mean of ${forkSample.processes} timed processes of ${forkSample.tool})`,
    `  ${(report.forkEstimateMs / bulk.ms).toFixed(0)}x faster`,
    '',
    `Sandbox removed: ${report.namespaces} namespaces deleted. ${passed} of ${report.checks.length} checks passed.`,
    '',
  ].join('\n');
}

function formatTable(rows: readonly CheckRow[]): string {
  const all = [HEADER, ...rows];
  const width = (key: 'check' | 'expected'): number => Math.max(...all.map((row) => row[key].length));
  const line = (row: CheckRow): string => `${row.check.padEnd(width('check'))}  ${row.expected.padEnd(width('expected'))}  ${row.result}`;
  const rule = `${'-'.repeat(width('check'))}  ${'-'.repeat(width('expected'))}  ${'-'.repeat(6)}`;
  return [line(HEADER), rule, ...rows.map(line)].join('\n');
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((line) => `  ${line}`).join('\n');
}

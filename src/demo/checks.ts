/** Runs the connection checks, all at once so unanswered ones share one timeout, and grades them. */
import type { Agent } from '../sandbox/agent-client.js';
import type { ProbeResult } from '../sandbox/agent-protocol.js';
import type { Check, Expectation } from './scenario.js';

export interface CheckRow {
  check: string;
  expected: string;
  /** `pass`, or what happened instead. */
  result: string;
  passed: boolean;
}

export async function runChecks(agents: ReadonlyMap<string, Agent>, checks: readonly Check[]): Promise<CheckRow[]> {
  const results = await Promise.all(checks.map((check) => {
    const agent = agents.get(check.from);
    if (agent === undefined) throw new Error(`no agent runs in ${check.from}`);
    // An agent that fails to answer fails its row, not the demo.
    return agent.probe({ proto: 'tcp', address: check.address, port: check.port })
      .catch((error: Error): ProbeResult => ({ reachable: false, error: error.message }));
  }));
  return checks.map((check, index) => grade(check, results[index] as ProbeResult));
}

function grade(check: Check, result: ProbeResult): CheckRow {
  const expected = describeExpectation(check.expected);
  const passed = check.expected === 'blocked'
    ? !result.reachable
    : result.server === check.expected.server && (check.expected.peer === undefined || result.peerSeenByServer === check.expected.peer);
  return { check: check.title, expected, result: passed ? 'pass' : `FAIL: ${describeResult(result)}`, passed };
}

function describeExpectation(expected: Expectation): string {
  if (expected === 'blocked') return 'blocked';
  return expected.peer === undefined ? `${expected.server} answers` : `${expected.server} answers, sees ${expected.peer}`;
}

function describeResult(result: ProbeResult): string {
  return result.reachable ? `${result.server ?? '?'} answered, saw ${result.peerSeenByServer ?? '?'}` : `no answer (${result.error ?? 'unknown'})`;
}

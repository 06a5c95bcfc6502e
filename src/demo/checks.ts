/** Runs the connection checks, all at once so unanswered ones share one timeout, and grades them. */
import type { ProbeReply } from './agent-protocol.js';
import type { Agent } from './agent-client.js';
import type { Check, Expectation } from './scenario.js';

export interface CheckRow {
  check: string;
  expected: string;
  /** `pass`, or what happened instead. */
  result: string;
  passed: boolean;
}

export async function runChecks(agents: ReadonlyMap<string, Agent>, checks: readonly Check[]): Promise<CheckRow[]> {
  const replies = await Promise.all(checks.map((check) => {
    const agent = agents.get(check.from);
    if (agent === undefined) throw new Error(`no agent runs in ${check.from}`);
    return agent.probe(check.address, check.port);
  }));
  return checks.map((check, index) => grade(check, replies[index] as ProbeReply));
}

function grade(check: Check, reply: ProbeReply): CheckRow {
  const expected = describeExpectation(check.expected);
  const passed = check.expected === 'blocked'
    ? reply.server === undefined
    : reply.server === check.expected.server && (check.expected.peer === undefined || reply.peer === check.expected.peer);
  return { check: check.title, expected, result: passed ? 'pass' : `FAIL: ${describeReply(reply)}`, passed };
}

function describeExpectation(expected: Expectation): string {
  if (expected === 'blocked') return 'blocked';
  return expected.peer === undefined ? `${expected.server} answers` : `${expected.server} answers, sees ${expected.peer}`;
}

function describeReply(reply: ProbeReply): string {
  return reply.server === undefined ? `no answer (${reply.error ?? 'unknown'})` : `${reply.server} answered, saw ${reply.peer ?? '?'}`;
}

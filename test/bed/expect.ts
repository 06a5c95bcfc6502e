/**
 * Probe tables: each row is one connection attempt and what must happen.
 * All rows run at once, so the unanswered ones cost one timeout together,
 * and each failed row says what was being checked and what came back.
 */
import type { ExecutionContext } from 'ava';
import type { ProbeProtocol } from '../../src/sandbox/agent-protocol.js';
import type { BedNode } from './bed.js';

/** Answered by `server`, which saw the connection come from `peer`; or no answer at all. */
export type Outcome = { server: string; peer: string } | 'blocked';

export interface ProbeCase {
  what: string;
  from: BedNode;
  proto?: ProbeProtocol;
  address: string;
  port: number;
  outcome: Outcome;
}

export async function expectProbes(t: ExecutionContext, cases: readonly ProbeCase[]): Promise<void> {
  const results = await Promise.all(cases.map((probe) => probe.from.agent.probe({
    proto: probe.proto ?? 'tcp', address: probe.address, port: probe.port,
  })));
  cases.forEach((probe, index) => {
    const result = results[index];
    const seen = result?.reachable ? { server: result.server, peer: result.peerSeenByServer } : 'blocked';
    const target = `${probe.proto ?? 'tcp'} ${probe.address}:${probe.port} from ${probe.from.agent.name}`;
    t.deepEqual(seen, probe.outcome, `${probe.what} (${target}: ${JSON.stringify(result)})`);
  });
}

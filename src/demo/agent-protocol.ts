/** The JSON lines exchanged with agent.ts: one probe request, one reply. */

export interface ProbeRequest {
  id: number;
  address: string;
  port: number;
  /** Capped at 1.5 s by the agent. */
  timeoutMs: number;
}

/** Answered: `server` and the `peer` address it saw. Unanswered: `error` (`timeout`, `ECONNREFUSED`, ...). */
export interface ProbeReply {
  id: number;
  server?: string;
  peer?: string;
  error?: string;
}

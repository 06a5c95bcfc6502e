/** The JSON lines exchanged with agent.ts, one request and one reply per line. */

export type ProbeProtocol = 'tcp' | 'udp';

export interface ServeRequest {
  id: number;
  op: 'serve';
  proto: ProbeProtocol;
  ports: number[];
}

export interface ProbeRequest {
  id: number;
  op: 'probe';
  proto: ProbeProtocol;
  address: string;
  port: number;
  /** Capped at 1.5 s by the agent. */
  timeoutMs: number;
}

export type AgentRequest = ServeRequest | ProbeRequest;

export interface ProbeResult {
  /** A server answered. */
  reachable: boolean;
  /** The name of the agent that answered. */
  server?: string;
  /** The source address that server saw (after any SNAT or masquerade). */
  peerSeenByServer?: string;
  /** Why not reachable: `timeout`, `ECONNREFUSED`, ... */
  error?: string;
}

export type AgentReply =
  | { id: number; ok: true; result?: ProbeResult }
  | { id: number; ok: false; error: string };

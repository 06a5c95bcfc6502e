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

/**
 * Serves TCP on `ports` keeping each connection open: every chunk received
 * is answered with "NAME PEER CHUNK", for connections that outlive a change.
 */
export interface ServeEchoRequest {
  id: number;
  op: 'serveEcho';
  ports: number[];
}

/**
 * Starts a continuous UDP sender: from one socket (so one source port, one
 * conntrack entry), datagram `seq:N` every `intervalMs`, `count` of them, to
 * address:port. Replies naming the server (as probes get them) are recorded
 * by seq. Answers at once; the sending goes on.
 */
export interface UdpStreamStartRequest {
  id: number;
  op: 'udpStreamStart';
  stream: string;
  address: string;
  port: number;
  intervalMs: number;
  count: number;
}

/** How many datagrams the stream has sent so far. */
export interface UdpStreamMarkRequest {
  id: number;
  op: 'udpStreamMark';
  stream: string;
}

/** Waits for the stream's last datagram (plus a grace for its reply) and returns who answered each. */
export interface UdpStreamResultsRequest {
  id: number;
  op: 'udpStreamResults';
  stream: string;
}

/** Opens a TCP connection to a serveEcho port and says `hello` on it: the answer is the result. */
export interface TcpSessionOpenRequest {
  id: number;
  op: 'tcpSessionOpen';
  session: string;
  address: string;
  port: number;
  timeoutMs: number;
}

/** Says `text` on an open session: the answer is the result, or why none came. */
export interface TcpSessionSendRequest {
  id: number;
  op: 'tcpSessionSend';
  session: string;
  text: string;
  timeoutMs: number;
}

export type AgentRequest =
  | ServeRequest | ProbeRequest | ServeEchoRequest
  | UdpStreamStartRequest | UdpStreamMarkRequest | UdpStreamResultsRequest
  | TcpSessionOpenRequest | TcpSessionSendRequest;

/** Per datagram of a UDP stream, by seq: the server that answered it, or null. */
export interface UdpStreamResult {
  sent: number;
  answeredBy: (string | null)[];
}

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
  | { id: number; ok: true; result?: ProbeResult; sent?: number; stream?: UdpStreamResult }
  | { id: number; ok: false; error: string };

/**
 * Drives one agent.ts process inside a sandbox namespace: start it, ask it to
 * serve ports, probe addresses through it. The process is killed when the
 * sandbox is removed, and ends by itself if this process dies (its stdin
 * closes).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { AgentReply, AgentRequest, ProbeProtocol, ProbeResult, UdpStreamResult } from './agent-protocol.js';
import type { Namespace, Sandbox } from './sandbox.js';
import { SandboxError, systemTool } from './tools.js';

const AGENT_SCRIPT = path.join(__dirname, 'agent.js');
/** How long a node process may take to start (60 s: at a load of 38 on this 2-core machine, 10 s was not enough). */
const START_TIMEOUT_MS = 60_000;
/** A connection attempt that gets no answer within this long counts as unreachable (the brief's bound is 1.5 s). */
const PROBE_TIMEOUT_MS = 1200;
/** Room for the agent to answer after its own probe timeout (generous: a loaded 2-core machine can stall a process for seconds). */
const REPLY_GRACE_MS = 20_000;

type Pending = { resolve: (reply: AgentReply) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface ProbeTarget {
  proto: ProbeProtocol;
  address: string;
  port: number;
}

export class Agent {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  private constructor(readonly name: string, private readonly child: ChildProcessWithoutNullStreams, lines: Interface) {
    lines.on('line', (line) => this.receive(line));
    child.on('exit', () => this.failAll(new SandboxError('ETOOL', `the agent ${name} exited`)));
  }

  /** Starts an agent named `name` (the name its servers answer with) inside `netns`, one of `sandbox`'s. */
  static async start(sandbox: Sandbox, netns: Namespace, name: string): Promise<Agent> {
    const child = spawn(systemTool('ip'), ['netns', 'exec', netns.name, process.execPath, AGENT_SCRIPT, name], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    sandbox.onRemove(() => child.kill('SIGKILL'));
    // An agent that died fails its pending requests; a write to it must not crash this process.
    child.stdin.on('error', () => {});
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SandboxError('ETOOL', `the agent ${name} did not start: ${stderr.trim()}`)), START_TIMEOUT_MS);
      // The agent's first line says it is ready.
      lines.once('line', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new SandboxError('ETOOL', `the agent ${name} exited with ${code}: ${stderr.trim()}`));
      });
    });
    return new Agent(name, child, lines);
  }

  /** Listens on `ports` on every address of the namespace, both families. */
  async serve(proto: ProbeProtocol, ports: readonly number[]): Promise<void> {
    await this.request({ op: 'serve', proto, ports: [...ports] });
  }

  /** One bounded connection attempt from this namespace. */
  async probe(target: ProbeTarget, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
    const reply = await this.request({ op: 'probe', ...target, timeoutMs });
    return reply.ok && reply.result ? reply.result : { reachable: false, error: 'no result' };
  }

  /** Serves TCP on `ports`, answering every line on a connection and keeping it open. */
  async serveEcho(ports: readonly number[]): Promise<void> {
    await this.request({ op: 'serveEcho', ports: [...ports] });
  }

  /** Starts a continuous UDP sender named `stream`, one source port throughout: `count` datagrams, one every `intervalMs`. */
  async startUdpStream(stream: string, target: { address: string; port: number }, intervalMs: number, count: number): Promise<void> {
    await this.request({ op: 'udpStreamStart', stream, ...target, intervalMs, count });
  }

  /** How many datagrams the stream has sent so far. */
  async udpStreamSent(stream: string): Promise<number> {
    const reply = await this.request({ op: 'udpStreamMark', stream });
    return reply.ok ? reply.sent ?? 0 : 0;
  }

  /** Once the stream has ended: who answered each datagram. */
  async udpStreamResults(stream: string): Promise<UdpStreamResult> {
    const reply = await this.request({ op: 'udpStreamResults', stream });
    if (!reply.ok || !reply.stream) throw new SandboxError('ETOOL', `the agent ${this.name} has no results for stream ${stream}`);
    return reply.stream;
  }

  /** Opens a TCP connection to an echo port, kept open: the answer to its first line. */
  async openTcpSession(session: string, target: { address: string; port: number }): Promise<ProbeResult> {
    const reply = await this.request({ op: 'tcpSessionOpen', session, ...target, timeoutMs: PROBE_TIMEOUT_MS });
    return reply.ok && reply.result ? reply.result : { reachable: false, error: 'no result' };
  }

  /** Sends a line on an open session: the answer, or why none came. */
  async sendOnTcpSession(session: string, text: string): Promise<ProbeResult> {
    const reply = await this.request({ op: 'tcpSessionSend', session, text, timeoutMs: PROBE_TIMEOUT_MS });
    return reply.ok && reply.result ? reply.result : { reachable: false, error: 'no result' };
  }

  private request(request: WithoutId<AgentRequest>): Promise<AgentReply> {
    const id = this.nextId++;
    return new Promise<AgentReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SandboxError('ETOOL', `the agent ${this.name} did not answer ${JSON.stringify(request)}`));
      }, PROBE_TIMEOUT_MS + REPLY_GRACE_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
    }).then((reply) => {
      if (!reply.ok) throw new SandboxError('ETOOL', `the agent ${this.name}: ${reply.error}`);
      return reply;
    });
  }

  private receive(line: string): void {
    const reply = JSON.parse(line) as AgentReply | { ready: string };
    if (!('id' in reply)) return;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    clearTimeout(pending.timer);
    pending.resolve(reply);
  }

  private failAll(error: Error): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
  }
}

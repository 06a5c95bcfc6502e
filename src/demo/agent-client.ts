/**
 * Drives one agent.ts process inside a sandbox namespace. The process is
 * killed when the sandbox is removed, and ends by itself if the demo dies
 * (its standard input closes).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { ProbeReply } from './agent-protocol.js';
import type { Sandbox } from './sandbox.js';
import { DemoError, systemTool } from './system.js';

const AGENT_SCRIPT = path.join(__dirname, 'agent.js');
const START_TIMEOUT_MS = 10_000;
/** A connection attempt unanswered this long counts as blocked (the bound is 1.5 s). */
const PROBE_TIMEOUT_MS = 1200;
/** Room for the agent to answer after its own timeout. */
const REPLY_GRACE_MS = 3000;

export class Agent {
  private readonly waiting = new Map<number, (reply: ProbeReply) => void>();
  private nextId = 1;

  private constructor(readonly name: string, private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') return;
      const reply = JSON.parse(line) as ProbeReply;
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
  }

  /** Starts the agent for `role` in its namespace, serving TCP on `ports`. */
  static async start(sandbox: Sandbox, role: string, ports: readonly number[]): Promise<Agent> {
    const child = spawn(systemTool('ip'), ['netns', 'exec', sandbox.name(role), process.execPath, AGENT_SCRIPT, role, ...ports.map(String)]);
    sandbox.onRemove(() => child.kill('SIGKILL'));
    // An agent that died fails its pending probes by timeout; a write to it must not crash the demo.
    child.stdin.on('error', () => {});
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DemoError('ETOOL', `the agent in ${role} did not start: ${stderr}`)), START_TIMEOUT_MS);
      child.stdout.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new DemoError('ETOOL', `the agent in ${role} exited with ${code}: ${stderr.trim()}`));
      });
    });
    return new Agent(role, child);
  }

  /** One bounded TCP connection attempt from this agent's namespace. */
  probe(address: string, port: number): Promise<ProbeReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ id, error: 'the agent did not answer' });
      }, PROBE_TIMEOUT_MS + REPLY_GRACE_MS);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.child.stdin.write(`${JSON.stringify({ id, address, port, timeoutMs: PROBE_TIMEOUT_MS })}\n`);
    });
  }
}

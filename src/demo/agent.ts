/**
 * The program the demo runs in each of its namespaces
 * (`ip netns exec NS node agent.js NAME PORT...`): it serves TCP on PORTs,
 * answering every connection with "NAME PEER" (who answered, and the source
 * address it saw), and makes bounded connection attempts on request, one
 * JSON line in and one out. One long-lived process per namespace keeps
 * probes fast. It exits when its standard input closes, so it never outlives
 * the demo.
 */
import { createServer, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { ProbeReply, ProbeRequest } from './agent-protocol.js';

/** The brief's bound on one connection attempt, whatever a request asks. */
const MAX_PROBE_MS = 1500;

const [name = 'agent', ...ports] = process.argv.slice(2);

function serve(port: number): Promise<void> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(`${name} ${socket.remoteAddress ?? ''}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '0.0.0.0', port }, resolve);
  });
}

function probe(request: ProbeRequest): Promise<ProbeReply> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let received = '';
    const finish = (reply: Omit<ProbeReply, 'id'>): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ id: request.id, ...reply });
    };
    const timer = setTimeout(() => finish({ error: 'timeout' }), Math.min(request.timeoutMs, MAX_PROBE_MS));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const [server, peer] = received.trim().split(' ');
      if (received.includes('\n') && server && peer) finish({ server, peer });
    });
    socket.on('end', () => finish({ error: 'closed without an answer' }));
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
    socket.connect({ host: request.address, port: request.port });
  });
}

async function main(): Promise<void> {
  for (const port of ports) await serve(Number(port));
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    void probe(JSON.parse(line) as ProbeRequest).then((reply) => process.stdout.write(`${JSON.stringify(reply)}\n`));
  });
  lines.on('close', () => process.exit(0));
  process.stdout.write('ready\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});

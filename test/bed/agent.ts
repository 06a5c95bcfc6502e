/**
 * The program every test namespace runs (`ip netns exec NS node agent.js NAME`):
 * it serves TCP and UDP ports and probes other addresses, driven by one JSON
 * request per line on stdin, answering one JSON line per request on stdout.
 * One long-lived process per namespace keeps probes fast (no process start
 * per connection attempt). It exits when stdin closes, so it never outlives
 * the test that started it.
 *
 * A server answers every connection or datagram with "NAME PEER", the name
 * it was started with and the source address it saw, so a test can tell who
 * answered and whether the connection was masqueraded or SNATed on the way.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { AgentReply, AgentRequest, ProbeRequest, ProbeResult, ServeRequest } from './agent-protocol.js';

const name = process.argv[2] ?? 'agent';
/** The hard upper bound on one probe, whatever a request asks. */
const MAX_PROBE_MS = 1500;

/** Listening on `::` (not IPv6-only) serves both families; IPv4 peers show as `::ffff:a.b.c.d`. */
function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

function identify(peer: string | undefined): string {
  return `${name} ${plainAddress(peer)}`;
}

async function serveTcp(port: number): Promise<void> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(`${identify(socket.remoteAddress)}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '::', port, ipv6Only: false }, resolve);
  });
}

async function serveUdp(port: number): Promise<void> {
  const socket = createSocket({ type: 'udp6', ipv6Only: false });
  socket.on('message', (_message, peer) => socket.send(identify(peer.address), peer.port, peer.address));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '::', resolve);
  });
}

async function serve(request: ServeRequest): Promise<void> {
  for (const port of request.ports) await (request.proto === 'tcp' ? serveTcp(port) : serveUdp(port));
}

/** "NAME PEER" → who answered and the source address it saw. */
function parseAnswer(text: string): ProbeResult {
  const [server = '', peerSeenByServer = ''] = text.trim().split(' ');
  return { reachable: true, server, peerSeenByServer };
}

function probeTcp(request: ProbeRequest, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let received = '';
    const finish = (result: ProbeResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ reachable: false, error: 'timeout' }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('\n')) finish(parseAnswer(received));
    });
    socket.on('end', () => finish(received ? parseAnswer(received) : { reachable: false, error: 'closed without an answer' }));
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ reachable: false, error: error.code ?? error.message }));
    socket.connect({ host: request.address, port: request.port });
  });
}

function probeUdp(request: ProbeRequest, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket: UdpSocket = createSocket(isIPv6(request.address) ? 'udp6' : 'udp4');
    const finish = (result: ProbeResult): void => {
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ reachable: false, error: 'timeout' }), timeoutMs);
    socket.on('message', (message) => finish(parseAnswer(message.toString('utf8'))));
    // An ICMP port-unreachable shows up as ECONNREFUSED on a connected socket.
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ reachable: false, error: error.code ?? error.message }));
    socket.connect(request.port, request.address, () => socket.send('probe'));
  });
}

function probe(request: ProbeRequest): Promise<ProbeResult> {
  const timeoutMs = Math.min(request.timeoutMs, MAX_PROBE_MS);
  return request.proto === 'tcp' ? probeTcp(request, timeoutMs) : probeUdp(request, timeoutMs);
}

async function handle(request: AgentRequest): Promise<AgentReply> {
  try {
    if (request.op === 'serve') {
      await serve(request);
      return { id: request.id, ok: true };
    }
    return { id: request.id, ok: true, result: await probe(request) };
  } catch (error) {
    return { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  void handle(JSON.parse(line) as AgentRequest).then((reply) => process.stdout.write(`${JSON.stringify(reply)}\n`));
});
lines.on('close', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: name })}\n`);

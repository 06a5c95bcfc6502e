/**
 * The program the demo and the packet test bed run in their namespaces
 * (`ip netns exec NS node agent.js NAME`): it serves TCP and UDP ports and
 * probes other addresses, driven by one JSON request per line on stdin,
 * answering one JSON line per request on stdout. One long-lived process per
 * namespace keeps probes fast (no process start per connection attempt). It
 * exits when stdin closes, so it never outlives the process that started it.
 *
 * A server answers every connection or datagram with "NAME PEER", the name
 * it was started with and the source address it saw, so a test can tell who
 * answered and whether the connection was masqueraded or SNATed on the way.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createServer, isIPv6, Socket, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import type {
  AgentReply, AgentRequest, ProbeRequest, ProbeResult, ServeRequest, TcpSessionOpenRequest, TcpSessionSendRequest, UdpStreamResult,
  UdpStreamStartRequest,
} from './agent-protocol.js';

const name = process.argv[2] ?? 'agent';
/** The hard upper bound on one probe, whatever a request asks. */
const MAX_PROBE_MS = 1500;
/** The bounds of a UDP stream, whatever a request asks: at most this many datagrams, at least this far apart. */
const MAX_STREAM_COUNT = 600;
const MIN_STREAM_INTERVAL_MS = 10;
/** How long a stream waits for the reply to its last datagram. */
const STREAM_REPLY_GRACE_MS = 500;

/** Listening on `::` (not IPv6-only) serves both families; IPv4 peers show as `::ffff:a.b.c.d`. */
function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

function identify(peer: string | undefined): string {
  return `${name} ${plainAddress(peer)}`;
}

/** Whether the kernel has IPv6: without it (ipv6.disable=1) servers listen on IPv4 alone. */
const dualStack = existsSync('/proc/net/if_inet6');

/** Listens on `port` of every address, of both families where the kernel has IPv6. */
async function listenEverywhere(server: Server, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(dualStack ? { host: '::', port, ipv6Only: false } : { host: '0.0.0.0', port }, resolve);
  });
}

async function serveTcp(port: number): Promise<void> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(`${identify(socket.remoteAddress)}\n`);
  });
  await listenEverywhere(server, port);
}

async function serveUdp(port: number): Promise<void> {
  const socket = createSocket(dualStack ? { type: 'udp6', ipv6Only: false } : { type: 'udp4' });
  // The datagram's own text follows, so a stream can tell which of its datagrams was answered.
  socket.on('message', (message, peer) => socket.send(`${identify(peer.address)} ${message.toString('utf8').slice(0, 32)}`, peer.port, peer.address));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, dualStack ? '::' : '0.0.0.0', resolve);
  });
}

async function serve(request: ServeRequest): Promise<void> {
  for (const port of request.ports) await (request.proto === 'tcp' ? serveTcp(port) : serveUdp(port));
}

async function serveEcho(ports: readonly number[]): Promise<void> {
  for (const port of ports) {
    const server = createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => socket.write(`${identify(socket.remoteAddress)} ${chunk.trim()}\n`));
    });
    await listenEverywhere(server, port);
  }
}

interface UdpStream {
  sent: number;
  answeredBy: (string | null)[];
  done: Promise<void>;
}

const streams = new Map<string, UdpStream>();

async function startStream(request: UdpStreamStartRequest): Promise<void> {
  if (streams.has(request.stream)) throw new Error(`stream ${request.stream} exists`);
  const count = Math.min(request.count, MAX_STREAM_COUNT);
  const socket = createSocket(isIPv6(request.address) ? 'udp6' : 'udp4');
  // Unconnected: an ICMP port unreachable neither stops the stream nor shows.
  socket.on('error', () => {});
  const stream: UdpStream = { sent: 0, answeredBy: Array.from({ length: count }, () => null), done: Promise.resolve() };
  socket.on('message', (message) => {
    const [server = '', , payload = ''] = message.toString('utf8').trim().split(' ');
    const seq = Number(payload.replace(/^seq:/, ''));
    if (Number.isInteger(seq) && seq >= 0 && seq < count) stream.answeredBy[seq] = server;
  });
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  stream.done = new Promise((resolve) => {
    const timer = setInterval(() => {
      if (stream.sent >= count) {
        clearInterval(timer);
        setTimeout(() => {
          socket.close();
          resolve();
        }, STREAM_REPLY_GRACE_MS);
        return;
      }
      socket.send(`seq:${stream.sent++}`, request.port, request.address);
    }, Math.max(request.intervalMs, MIN_STREAM_INTERVAL_MS));
  });
  streams.set(request.stream, stream);
}

function streamOf(name: string): UdpStream {
  const stream = streams.get(name);
  if (!stream) throw new Error(`no stream ${name}`);
  return stream;
}

async function streamResults(name: string): Promise<UdpStreamResult> {
  const stream = streamOf(name);
  await stream.done;
  return { sent: stream.sent, answeredBy: stream.answeredBy };
}

interface TcpSession {
  socket: Socket;
  lines: string[];
  /** Why the connection can say nothing more: closed, reset, ... */
  ended?: string;
  wake?: () => void;
}

const sessions = new Map<string, TcpSession>();

/** The next line the session receives, or why none came within `timeoutMs`. */
function nextLine(session: TcpSession, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const line = session.lines.shift();
      if (line !== undefined) resolve(parseAnswer(line));
      else if (session.ended !== undefined) resolve({ reachable: false, error: session.ended });
      else return false;
      clearTimeout(timer);
      session.wake = undefined;
      return true;
    };
    const timer = setTimeout(() => {
      session.wake = undefined;
      resolve({ reachable: false, error: 'timeout' });
    }, Math.min(timeoutMs, MAX_PROBE_MS));
    if (!check()) session.wake = () => void check();
  });
}

async function openSession(request: TcpSessionOpenRequest): Promise<ProbeResult> {
  if (sessions.has(request.session)) throw new Error(`session ${request.session} exists`);
  const socket = new Socket();
  const session: TcpSession = { socket, lines: [] };
  sessions.set(request.session, session);
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      session.lines.push(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
    }
    session.wake?.();
  });
  const end = (why: string): void => {
    session.ended ??= why;
    session.wake?.();
  };
  socket.on('error', (error: NodeJS.ErrnoException) => end(error.code ?? error.message));
  socket.on('close', () => end('closed'));
  socket.connect({ host: request.address, port: request.port }, () => socket.write('hello\n'));
  return nextLine(session, request.timeoutMs);
}

function sendOnSession(request: TcpSessionSendRequest): Promise<ProbeResult> {
  const session = sessions.get(request.session);
  if (!session) throw new Error(`no session ${request.session}`);
  if (session.ended === undefined) session.socket.write(`${request.text}\n`);
  return nextLine(session, request.timeoutMs);
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
    switch (request.op) {
      case 'serve':
        await serve(request);
        return { id: request.id, ok: true };
      case 'serveEcho':
        await serveEcho(request.ports);
        return { id: request.id, ok: true };
      case 'udpStreamStart':
        await startStream(request);
        return { id: request.id, ok: true };
      case 'udpStreamMark':
        return { id: request.id, ok: true, sent: streamOf(request.stream).sent };
      case 'udpStreamResults':
        return { id: request.id, ok: true, stream: await streamResults(request.stream) };
      case 'tcpSessionOpen':
        return { id: request.id, ok: true, result: await openSession(request) };
      case 'tcpSessionSend':
        return { id: request.id, ok: true, result: await sendOnSession(request) };
      case 'probe':
        return { id: request.id, ok: true, result: await probe(request) };
    }
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

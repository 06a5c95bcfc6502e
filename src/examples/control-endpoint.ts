/**
 * Embedding bridgewall in a Node service: a small HTTP control endpoint
 * (on 127.0.0.1 only) through which an orchestrator adds sandboxes to a
 * bridge network and publishes their ports. Each request is one atomic
 * kernel commit per table, however many ports it carries.
 *
 *   node dist/src/examples/control-endpoint.js /run/netns/NAME [PORT]
 *   curl -X POST localhost:7070/sandboxes -d '{"ipv4":"198.18.1.2"}'
 *   curl -X POST localhost:7070/sandboxes/198.18.1.2/ports -d '[{"proto":"tcp","hostPort":8080,"containerPort":80}]'
 *   curl -X DELETE localhost:7070/sandboxes/198.18.1.2/ports -d '[{"proto":"tcp","hostPort":8080,"containerPort":80}]'
 *   curl localhost:7070/ruleset
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Firewall, type PortSpecInput } from '../index.js'; // in your project: from 'bridgewall'
import { BACKEND, netnsArgument } from './backend.js';

const BRIDGE = 'br-sandboxes';
const SUBNET = '198.18.1.0/24';

async function readJson(request: IncomingMessage): Promise<unknown> {
  let body = '';
  for await (const chunk of request) body += chunk;
  return JSON.parse(body);
}

/** Text (the ruleset) as it is, everything else as JSON. */
function reply(response: ServerResponse, status: number, body: unknown): void {
  if (typeof body === 'string') response.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  else response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

async function main(): Promise<void> {
  const firewall = await Firewall.open({ netns: netnsArgument('control-endpoint.js NETNS_PATH [PORT]') });
  await firewall.apply({ backend: BACKEND, networks: [{ bridge: BRIDGE, ipv4: { subnet: SUBNET } }] });

  const server = createServer((request, response) => {
    const ports = /^\/sandboxes\/([^/]+)\/ports$/.exec(request.url ?? '');
    const handle = async (): Promise<unknown> => {
      if (request.method === 'POST' && request.url === '/sandboxes') {
        return firewall.addEndpoint(BRIDGE, await readJson(request) as { ipv4: string });
      }
      if (ports && request.method === 'POST') return firewall.addPorts(BRIDGE, { ipv4: ports[1]! }, await readJson(request) as PortSpecInput[]);
      if (ports && request.method === 'DELETE') return firewall.removePorts(BRIDGE, { ipv4: ports[1]! }, await readJson(request) as PortSpecInput[]);
      if (request.method === 'GET' && request.url === '/ruleset') return (await firewall.show(BACKEND)).text;
      return undefined;
    };
    handle().then(
      (result) => (result === undefined ? reply(response, 404, { error: 'no such endpoint' }) : reply(response, 200, result)),
      // Validation errors name the offending field: hand them back to the caller as they are.
      (error: { code?: string; message: string }) => reply(response, error.code === 'EVALIDATION' ? 400 : 500, { code: error.code, error: error.message }),
    );
  });
  const port = Number(process.argv[3] ?? 7070);
  server.listen(port, '127.0.0.1', () => console.log(`bridgewall control endpoint on http://127.0.0.1:${port} (${BACKEND})`));
  process.once('SIGINT', () => server.close(() => firewall.close()));
}

main().catch((error: { code?: string; message: string }) => {
  console.error(`error: ${error.code ?? 'UNKNOWN'}: ${error.message}`);
  process.exitCode = 1;
});

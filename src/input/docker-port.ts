/**
 * Ports in Docker's `-p` notation, `[hostIp:][hostPort:]containerPort[/proto]`,
 * read as Docker reads them (github.com/docker/go-connections nat.ParsePortSpec):
 * the text is split at its colons, the last part is the container port, the
 * one before it the host port, and everything before that the host address
 * (so `::1:8080:80` and `[::1]:8080:80` both name `::1`); the protocol
 * defaults to tcp and is read in any case; a port is decimal, leading zeros
 * and a `+` allowed, 0 to 65535; a host port of 0, or none, lets Docker
 * choose one. One host port range with one container port is the range
 * Docker chooses a host port from (`8000-8010:80`).
 *
 * Where Docker's daemon would refuse later, the spec refuses now: a container
 * port 0 and a host port range starting at 0 are ValidationErrors.
 */
import { invalid } from '../errors.js';
import { rangeInput } from '../held/ledger.js';
import type { PortProtocol, PortRange, PortSpecInput } from './types.js';
import { PORT_PROTOCOLS } from '../protocol.js';

/** Go's strconv.ParseInt in base 10: an optional sign (a `-` cannot reach it: ranges are cut there first) and digits. */
const NUMBER = /^\+?[0-9]+$/;

const NOTATION = 'a port in Docker\'s -p notation, [hostIp:][hostPort:]containerPort[/proto]';

/** The port `text` names, as the object form; `field` names it in a ValidationError. */
export function parseDockerPort(text: string, field: string): PortSpecInput {
  const parts = text.split(':');
  const containerText = parts.at(-1)!;
  const hostPortText = parts.length >= 2 ? parts.at(-2)! : '';
  let hostIp = parts.length >= 3 ? parts.slice(0, -2).join(':') : '';

  const slash = containerText.indexOf('/');
  const containerPortText = slash === -1 ? containerText : containerText.slice(0, slash);
  const protoText = slash === -1 ? '' : containerText.slice(slash + 1).toLowerCase();
  if (containerPortText === '') invalid(field, `${NOTATION} with a container port`, text);
  const proto = protoText === '' ? 'tcp' : protoText;
  if (!PORT_PROTOCOLS.includes(proto as PortProtocol)) invalid(field, `${NOTATION} with protocol tcp, udp or sctp`, text);

  if (hostIp.startsWith('[')) {
    // Docker strips the brackets with net.SplitHostPort(hostIp + ":"): exactly one pair, around it all.
    if (!hostIp.endsWith(']') || /[[\]]/.test(hostIp.slice(1, -1))) invalid(field, `${NOTATION} with a host address in brackets`, text);
    hostIp = hostIp.slice(1, -1);
  }

  const containerPort = portRange(containerPortText);
  if (!containerPort || containerPort.first === 0) invalid(field, `${NOTATION} with a container port from 1 to 65535 or a range`, text);
  const port: PortSpecInput = { proto: proto as PortProtocol, containerPort: rangeInput(containerPort) };
  if (hostIp !== '') port.hostIp = hostIp;
  if (hostPortText !== '') {
    const hostPort = portRange(hostPortText);
    if (!hostPort || (hostPort.first === 0 && hostPort.last !== 0)) invalid(field, `${NOTATION} with a host port from 0 to 65535 or a range`, text);
    const single = containerPort.first === containerPort.last;
    if (!single && hostPort.last - hostPort.first !== containerPort.last - containerPort.first) {
      invalid(field, `${NOTATION} with host and container port ranges of one length`, text);
    }
    // Port 0 is Docker's "choose one", as no host port at all.
    if (hostPort.first !== 0) port.hostPort = rangeInput(hostPort);
  }
  return port;
}

/** Go-connections' parsePortRange: `A` or `A-B` with A <= B; `A-A` is `A`. */
function portRange(text: string): PortRange | undefined {
  const dash = text.indexOf('-');
  const firstText = dash === -1 ? text : text.slice(0, dash);
  const lastText = dash === -1 ? firstText : text.slice(dash + 1);
  const first = portNumber(firstText);
  const last = lastText === firstText ? first : portNumber(lastText);
  if (first === undefined || last === undefined || last < first) return undefined;
  return { first, last };
}

function portNumber(text: string): number | undefined {
  if (!NUMBER.test(text)) return undefined;
  const value = Number(text);
  return value <= 65535 ? value : undefined;
}

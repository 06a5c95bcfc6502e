/**
 * The shape of each argument of the Firewall's imperative calls, checked when
 * the call is made, so that a wrong value is a ValidationError naming the
 * argument (`bridge`, `endpoint`, `ports[2]`) instead of a TypeError deep
 * inside an edit. What a value means (a valid subnet, a free host port) is
 * checked where the spec is, as for apply(spec).
 */
import { invalid, ValidationError } from './errors.js';
import type { EndpointRef } from './held/held-spec.js';
import type { IngressPortSpec, IngressSpec, NetworkSpecInput, PortInput } from './input/types.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readBridge(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) invalid('bridge', 'a bridge name such as "br-web"', value);
  return value;
}

/** An endpoint, or a reference to one: an object with its `ipv4` and/or `ipv6` address. */
export function readEndpoint<T extends EndpointRef>(value: unknown): T {
  const ok = isObject(value) && (value.ipv4 !== undefined || value.ipv6 !== undefined) &&
    (value.ipv4 === undefined || typeof value.ipv4 === 'string') && (value.ipv6 === undefined || typeof value.ipv6 === 'string');
  if (!ok) invalid('endpoint', 'an endpoint such as { ipv4: "172.18.0.2" }', value);
  return value as T;
}

export function readNetwork(value: unknown): NetworkSpecInput {
  if (!isObject(value)) invalid('network', 'a network such as { bridge: "br-web", ipv4: { subnet: "172.18.0.0/16" } }', value);
  if (typeof value.bridge !== 'string') invalid('network.bridge', 'a bridge name such as "br-web"', value.bridge);
  return value as unknown as NetworkSpecInput;
}

/** An array of ports; each port is read where it is published or removed, named `ports[i]`. */
export function readPorts(value: unknown): readonly PortInput[] {
  if (!Array.isArray(value)) invalid('ports', 'an array of ports', value);
  return value as PortInput[];
}

export function readIngress(value: unknown): IngressSpec | undefined {
  if (value !== undefined && !isObject(value)) invalid('ingress', 'an ingress object, or undefined to remove it', value);
  return value as IngressSpec | undefined;
}

export function readIngressPorts(value: unknown): readonly IngressPortSpec[] {
  if (!Array.isArray(value)) invalid('ports', 'an array of ingress ports', value);
  for (const [index, port] of value.entries()) {
    if (!isObject(port)) invalid(`ports[${index}]`, 'an ingress port such as { proto: "tcp", port: 80 }', port);
  }
  return value as IngressPortSpec[];
}

/** Where a call's argument went in the spec (`networks[3]`), and what the caller called it (`network`). */
export interface ArgumentPlace {
  name: string;
  path: string;
}

/** A ValidationError about something inside the caller's argument, named from the argument; any other error as it is. */
export function inCallerTerms(error: unknown, place: ArgumentPlace | void): unknown {
  if (!(error instanceof ValidationError) || !place) return error;
  const { field } = error;
  const rest = field.slice(place.path.length);
  if (!field.startsWith(place.path) || !/^($|\.|\[)/.test(rest)) return error;
  const renamed = `${place.name}${rest}`;
  return new ValidationError(renamed, error.message.slice(`${field}: `.length).split(field).join(renamed));
}

/**
 * The scenario behind Docker's TestIptabler goldens (see
 * test/fixtures/docker-v29/README.md): network br-dummy, one endpoint, tcp
 * 8080->80, with the options a golden's file name gives.
 */
import type { GatewayMode, SpecInput } from '../../src/input/types.js';

export interface ScenarioOptions {
  hairpin: boolean;
  internal: boolean;
  icc: boolean;
  masq: boolean;
  snat: boolean;
  gwm: GatewayMode;
  bindlh: boolean;
}

/** `hairpin=true,internal=false,icc=true,...` → options; absent options take `defaults`. */
export function parseScenarioName(name: string, defaults: Partial<ScenarioOptions> = {}): ScenarioOptions {
  const values = new Map(name.split(',').map((pair) => pair.split('=') as [string, string]));
  const flag = (key: keyof ScenarioOptions): boolean =>
    values.has(key) ? values.get(key) === 'true' : Boolean(defaults[key]);
  return {
    hairpin: flag('hairpin'),
    internal: flag('internal'),
    icc: flag('icc'),
    masq: flag('masq'),
    snat: flag('snat'),
    gwm: (values.get('gwm') as GatewayMode | undefined) ?? defaults.gwm ?? 'nat',
    bindlh: flag('bindlh'),
  };
}

export function scenarioSpec(options: ScenarioOptions, families: { ipv4: boolean; ipv6: boolean }): SpecInput {
  const ipv4HostIp = options.bindlh ? '127.0.0.1' : '0.0.0.0';
  const ipv6HostIp = options.bindlh ? '::1' : '::';
  return {
    backend: 'iptables',
    ...families,
    userlandProxy: !options.hairpin,
    networks: [{
      bridge: 'br-dummy',
      internal: options.internal,
      icc: options.icc,
      masquerade: options.masq,
      gatewayMode: options.gwm,
      ipv4: { subnet: '192.168.0.0/24', ...(options.snat ? { hostIp: '192.168.123.0' } : {}) },
      ipv6: { subnet: 'fd49:efd7:54aa::/64', ...(options.snat ? { hostIp: 'fd34:d0d4:672f::123' } : {}) },
      endpoints: [{
        ipv4: '192.168.0.2',
        ipv6: 'fd49:efd7:54aa::1',
        // Docker's own bindings: one per family, 0.0.0.0 and ::, or 127.0.0.1 and ::1.
        ports: [
          { proto: 'tcp', hostIp: ipv4HostIp, hostPort: 8080, containerPort: 80 },
          { proto: 'tcp', hostIp: ipv6HostIp, hostPort: 8080, containerPort: 80 },
        ],
      }],
    }],
  };
}

/** Internal goldens stand for every value of the options that cannot matter on an internal network. */
export function variants(name: string): ScenarioOptions[] {
  const named = parseScenarioName(name);
  if (!named.internal) return [named];
  return [false, true].flatMap((masq) => [false, true].flatMap((snat) => [false, true].flatMap((bindlh) =>
    (['nat', 'nat-unprotected', 'routed'] as const).map((gwm) => ({ ...named, masq, snat, bindlh, gwm })))));
}

/** The daemon-level state of a scenario's hairpin setting (Docker's `cleaned` goldens): no network, both families. */
export function daemonSpec(options: Pick<ScenarioOptions, 'hairpin'>): SpecInput {
  return { backend: 'iptables', ipv6: true, userlandProxy: !options.hairpin };
}

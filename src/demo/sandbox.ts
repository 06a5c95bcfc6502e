/**
 * The demo's sandbox: a Docker host in miniature, built only from network
 * namespaces the demo creates (never the machine's own):
 *
 *   outside ──(uplink veth)── host ──(bridges)── containers
 *
 * Every namespace name carries the demo's process id, so concurrent demos and
 * the machine's own namespaces are never confused. Names are recorded before
 * creation, and `remove()` deletes them all synchronously, so it can run from
 * a `finally`, a signal handler or an exit handler alike.
 */
import { execFileSync } from 'node:child_process';
import { writeSysctls } from '../sysctl.js';
import { runTool, systemTool } from './system.js';

export interface ContainerPlan {
  /** The namespace's role name; also what its server answers with. */
  name: string;
  address: string;
}

export interface NetworkPlan {
  bridge: string;
  /** An IPv4 /24; the bridge takes the `.1` address as the containers' gateway. */
  subnet: string;
  gateway: string;
  containers: ContainerPlan[];
}

export interface TopologyPlan {
  /** The host's address on the uplink; the outside's is `outsideAddress`. */
  hostAddress: string;
  outsideAddress: string;
  /** Routed via the host from the outside, so the firewall, not a missing route, must keep containers unreachable. */
  containerRange: string;
  networks: NetworkPlan[];
}

const PREFIX = 24;

export class Sandbox {
  private readonly names: string[] = [];
  private readonly cleanups: (() => void)[] = [];
  private readonly prefix = `bwdemo-${process.pid}`;

  /** The namespace name of a role (`host`, `outside`, a container's name, ...). */
  name(role: string): string {
    return `${this.prefix}-${role}`;
  }

  /** The path the library is given: /run/netns/NAME. */
  path(role: string): string {
    return `/run/netns/${this.name(role)}`;
  }

  /** How many namespaces exist (or were being created). */
  get size(): number {
    return this.names.length;
  }

  async addNamespace(role: string): Promise<void> {
    const name = this.name(role);
    this.names.push(name);
    await runTool('ip', ['netns', 'add', name]);
    await runTool('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  }

  /** Builds host, outside and one namespace per container, wired as the plan says. */
  async build(plan: TopologyPlan): Promise<void> {
    const containers = plan.networks.flatMap((network) => network.containers.map((container) => ({ network, container })));
    await Promise.all(['host', 'outside', ...containers.map(({ container }) => container.name)].map((role) => this.addNamespace(role)));
    await this.ipBatch('host', [
      ...plan.networks.flatMap((network) => [
        `link add ${network.bridge} type bridge`,
        `address add ${network.gateway}/${PREFIX} dev ${network.bridge}`,
        `link set ${network.bridge} up`,
      ]),
      ...containers.flatMap(({ network, container }, index) => [
        `link add veth${index} type veth peer name eth0 netns ${this.name(container.name)}`,
        `link set veth${index} master ${network.bridge}`,
        `link set veth${index} up`,
      ]),
      `link add uplink type veth peer name eth0 netns ${this.name('outside')}`,
      `address add ${plan.hostAddress}/${PREFIX} dev uplink`,
      'link set uplink up',
    ]);
    await writeSysctls(this.path('host'), [{ path: ['net', 'ipv4', 'ip_forward'], value: '1' }]);
    await Promise.all([
      this.ipBatch('outside', [
        `address add ${plan.outsideAddress}/${PREFIX} dev eth0`,
        'link set eth0 up',
        `route add ${plan.containerRange} via ${plan.hostAddress}`,
      ]),
      // Internal networks get a default route too: the firewall must be what stops their traffic.
      ...containers.map(({ network, container }) => this.ipBatch(container.name, [
        `address add ${container.address}/${PREFIX} dev eth0`,
        'link set eth0 up',
        `route add default via ${network.gateway}`,
      ])),
    ]);
  }

  /** Registers something to undo before the namespaces go, e.g. killing a process inside one. */
  onRemove(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  /** Deletes everything the sandbox created. Synchronous and safe to call twice. */
  remove(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const name of this.names.splice(0)) {
      try {
        execFileSync(systemTool('ip'), ['netns', 'del', name], { stdio: 'ignore', timeout: 10_000 });
      } catch {
        // Never created, or already gone.
      }
    }
  }

  /** Runs `ip` commands, one per line, in one process, inside the role's namespace. */
  private async ipBatch(role: string, commands: readonly string[]): Promise<void> {
    await runTool('ip', ['-n', this.name(role), '-batch', '-'], `${commands.join('\n')}\n`);
  }
}

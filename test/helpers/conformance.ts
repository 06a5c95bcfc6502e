/**
 * Docker Engine's own golden rulesets, kept unchanged in the repository
 * (`test/fixtures/docker-v29`, see its README and NOTICE). Found from the
 * repository root so the compiled tests in dist/ read the same files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Family } from '../../src/family.js';

export function repositoryRoot(): string {
  let directory = __dirname;
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`No package.json above ${__dirname}`);
    directory = parent;
  }
  return directory;
}

export const DOCKER_IPTABLES_GOLDEN_DIR = join(repositoryRoot(), 'test', 'fixtures', 'docker-v29', 'iptables');
export const DOCKER_IP6TABLES_GOLDEN_DIR = join(repositoryRoot(), 'test', 'fixtures', 'docker-v29', 'ip6tables');

/** Docker's goldens of one family (IPv4: iptables, IPv6: ip6tables), by scenario name. */
export function dockerIptablesGoldens(family: Family = 'ipv4'): { name: string; text: string }[] {
  const [directory, suffix] = family === 'ipv4'
    ? [DOCKER_IPTABLES_GOLDEN_DIR, '__iptables.golden']
    : [DOCKER_IP6TABLES_GOLDEN_DIR, '__ip6tables.golden'];
  return readdirSync(directory)
    .filter((file) => file.endsWith(suffix))
    .sort()
    .map((file) => ({ name: file.slice(0, -suffix.length), text: readFileSync(join(directory, file), 'utf8') }));
}

/**
 * Docker's goldens come from its iptables layer, below the daemon, so they
 * lack the daemon's DOCKER-USER chain and the FORWARD jump to it (placed
 * first). Removes exactly those two lines, or returns undefined when either
 * is missing or misplaced.
 */
export function withoutDockerUser(save: string): string | undefined {
  const lines = save.split('\n');
  const header = lines.indexOf(':DOCKER-USER - [0:0]');
  const jump = lines.indexOf('-A FORWARD -j DOCKER-USER');
  const firstForwardRule = lines.findIndex((line) => line.startsWith('-A FORWARD '));
  if (header < 0 || jump < 0 || jump !== firstForwardRule) return undefined;
  return lines.filter((_, index) => index !== header && index !== jump).join('\n');
}

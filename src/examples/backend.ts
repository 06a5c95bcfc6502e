/** The examples' backend: the library's default. */
import { DEFAULT_BACKEND, type BackendName } from '../index.js'; // in your project: from 'bridgewall'

export const BACKEND: BackendName = DEFAULT_BACKEND;

/** The namespace to program, from the command line: the examples never default to the machine's own. */
export function netnsArgument(usage: string): string {
  const netns = process.argv[2];
  if (netns === undefined || !netns.startsWith('/')) {
    process.stderr.write(`usage: ${usage}\n  e.g. ip netns add try && node ${process.argv[1]} /run/netns/try ...; ip netns del try\n`);
    process.exit(2);
  }
  return netns;
}

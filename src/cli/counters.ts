/**
 * Per-binding counters as `show --counters` prints them: a table whose
 * counter columns come first, as in `iptables -v` (exact numbers, as with
 * `-x`), and the same as JSON, numbers and all.
 */
import type { BackendName } from '../backends/backend.js';
import type { BindingCounters, PacketCounter } from '../backends/counters.js';

const HEADINGS = ['dnat pkts', 'dnat bytes', 'fwd pkts', 'fwd bytes', 'proto', 'host', 'container', 'bridge'] as const;
/** Counter columns are right-aligned, the rest left-aligned. */
const NUMERIC = 4;

export function formatCounters(backend: BackendName, counters: readonly BindingCounters[]): string {
  const rows = counters.map((binding) => [
    ...counterCells(binding.dnat), ...counterCells(binding.forwarded), binding.proto,
    binding.hostPort === undefined ? '-' : endpoint(binding.hostAddress ?? (binding.family === 'ipv4' ? '0.0.0.0' : '::'), binding.hostPort),
    endpoint(binding.containerAddress, binding.containerPort), binding.bridge,
  ]);
  const widths = HEADINGS.map((heading, column) => Math.max(heading.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => cells
    .map((cell, column) => (column < NUMERIC ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
    .join('  ').trimEnd();
  const title = `# ${backend}: packets and bytes per port binding (dnat: translated to the container; fwd: forwarded to its port)`;
  return `${[title, line(HEADINGS), ...rows.map(line)].join('\n')}\n`;
}

/** The counters as JSON values: numbers rather than BigInts (exact up to 2^53). */
export function countersJson(counters: readonly BindingCounters[]): object[] {
  const plain = (counter: PacketCounter) => ({ packets: Number(counter.packets), bytes: Number(counter.bytes) });
  return counters.map(({ dnat, forwarded, ...binding }) => ({
    ...binding, ...(dnat ? { dnat: plain(dnat) } : {}), ...(forwarded ? { forwarded: plain(forwarded) } : {}),
  }));
}

function counterCells(counter: PacketCounter | undefined): [string, string] {
  return counter === undefined ? ['-', '-'] : [String(counter.packets), String(counter.bytes)];
}

/** Docker's notation: `198.18.1.2:80`, `[2001:db8::2]:80`. */
function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Figures: one JSON line each as they are measured, and a table at the end. */

export interface Figure {
  case: string;
  n: number;
  /** Median wall time in ms, or undefined for figures that are not times. */
  ms?: number;
  reps: number;
  /** Anything else the figure needs to be read: rate, bytes, an extrapolation. */
  [extra: string]: unknown;
}

export const figures: Figure[] = [];

export function record(figure: Figure): void {
  figures.push(figure);
  console.log(JSON.stringify(figure));
}

export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function table(): string {
  const rows = figures.map((f) => {
    const extras = Object.entries(f).filter(([k]) => !['case', 'n', 'ms', 'reps'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ');
    return [f.case, f.n.toLocaleString('en'), f.ms === undefined ? '' : f.ms.toFixed(2), String(f.reps), extras];
  });
  const header = ['case', 'n', 'ms (median)', 'reps', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === 1 || i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

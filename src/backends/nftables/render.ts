/**
 * Our table in the shape `nft list table` prints, from the image read back:
 * maps and sets with their elements, then chains with their rules, counters
 * and all. The user's rules (in its chain) follow a `# owner: user` line: nft
 * -f reads the text as it is, and the reader sees which rules are not ours.
 */
import { verdictText } from './elements.js';
import type { ChainImage, SetImage, TableImage } from './image.js';
import { ruleLine } from './show.js';

export function renderTable(table: TableImage): string {
  const family = table.family === 'ip6' ? 'ip6' : 'ip';
  const blocks = [
    ...[...table.sets.values()].map(renderSet),
    ...[...table.chains.values()].map((chain) => renderChain(family, chain)),
  ];
  return `table ${table.family} ${table.name} {\n${blocks.join('\n')}}\n`;
}

function renderSet(set: SetImage): string {
  const data = set.data === undefined ? '' : ` : ${set.data === 'verdict' ? 'verdict' : set.data.join(' . ')}`;
  const lines = [`\t${set.data === undefined ? 'set' : 'map'} ${set.name} {`, `\t\ttype ${set.key.join(' . ')}${data}`];
  if (set.interval) lines.push('\t\tflags interval');
  if (set.counter) lines.push('\t\tcounter');
  if (set.elements.size > 0) {
    const elements = [...set.elements.map].map(([text, element]) => {
      const key = element.counter ? `${text} counter packets ${element.counter.packets} bytes ${element.counter.bytes}` : text;
      return element.verdict ? `${key} : ${verdictText(element.verdict)}` : element.valueText ? `${key} : ${element.valueText}` : key;
    });
    lines.push(`\t\telements = { ${elements.join(',\n\t\t\t     ')} }`);
  }
  return `${lines.join('\n')}\n\t}\n`;
}

function renderChain(family: 'ip' | 'ip6', chain: ChainImage): string {
  const lines = [`\tchain ${chain.name} {`];
  if (chain.base) {
    lines.push(`\t\ttype ${chain.base.type} hook ${chain.base.hook} priority ${chain.base.priority}; policy ${chain.base.policy};`);
  }
  for (const rule of chain.rules) {
    if (chain.userOwned) lines.push('\t\t# owner: user');
    lines.push(`\t\t${ruleLine(family, rule)}`);
  }
  return `${lines.join('\n')}\n\t}\n`;
}

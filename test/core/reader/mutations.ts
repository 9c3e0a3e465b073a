/** Generated and mutated documents for the differential tests of the reader's fast paths. */

/** Mutations aimed at what the fast path reads: markup bytes, references, names and their ends. */
export const PIECES = [
  '<',
  '>',
  '/',
  '"',
  "'",
  '=',
  ' ',
  '\n',
  '&',
  ';',
  '#',
  'x',
  '&lt;',
  '&amp;',
  '&quot;',
  '&#65;',
  '&#x1F600;',
  '&#0;',
  '&bogus;',
  '<!--',
  '-->',
  '--',
  '<!',
  '<?x?>',
  ']]>',
  '\u0001',
  '\u000b',
  'é',
  '\u00ff',
  '</A>',
  '<A>',
  '<A/>',
  ' b="1"',
  ' type="x"',
];

/** A body of elements nested up to four deep, with comments and text between them. */
export function nestedBody(r: () => number): string {
  const names = ['Record', 'A', 'MetadataEntry', 'Workout'];
  const el = (depth: number): string => {
    const name = names[Math.floor(r() * names.length)]!;
    let attrs = '';
    for (let k = Math.floor(r() * 4); k > 0; k--) attrs += ` a${k}${r() < 0.1 ? ' = ' : '='}"v${k}&amp;"`;
    if (depth >= 4 || r() < 0.5) return `<${name}${attrs}/>`;
    let inner = '';
    for (let k = Math.floor(r() * 3); k > 0; k--) inner += `\n${' '.repeat(depth)}${el(depth + 1)}`;
    if (r() < 0.2) inner += '<!-- c -->';
    if (r() < 0.2) inner += ' t &lt; u ';
    return `<${name}${attrs}>${inner}</${name}>`;
  };
  let out = '<HealthData locale="en_US">\n';
  for (let k = 0; k < 12; k++) out += ` ${el(1)}\n`;
  return `${out}</HealthData>\n`;
}

/** `text` with up to two random pieces inserted or bytes deleted. */
export function mutate(text: string, r: () => number): string {
  for (let j = 0, n = Math.floor(r() * 3); j < n; j++) {
    const at = Math.floor(r() * text.length);
    text =
      r() < 0.8
        ? text.slice(0, at) + PIECES[Math.floor(r() * PIECES.length)]! + text.slice(at)
        : text.slice(0, at) + text.slice(at + 1 + Math.floor(r() * 3));
  }
  return text;
}

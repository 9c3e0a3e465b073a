/**
 * 21779 → "21,779": the one number format (en-US digit groups). Integers are grouped here rather than by
 * Intl, whose first use loads locale data and holds up a short command's start-up for tens of milliseconds.
 */
export function grouped(value: number): string {
  if (!Number.isSafeInteger(value)) return value.toLocaleString('en-US');
  const digits = String(Math.abs(value));
  let out = digits.slice(0, digits.length % 3 || 3);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return value < 0 ? `-${out}` : out;
}

/** "1 batch", "2 batches", "21,779 records": a count with its noun, in the one number format. */
export function count(value: number, singular: string, plural = `${singular}s`): string {
  return `${grouped(value)} ${value === 1 ? singular : plural}`;
}

/** The noun alone, for a count printed elsewhere. */
export function noun(value: number, singular: string, plural = `${singular}s`): string {
  return value === 1 ? singular : plural;
}

/** The first `top` items joined, then how many more there are: "a 3, b 2 and 4 more (see --json)". */
export function firstOf(items: string[], top = 5): string {
  const shown = items.slice(0, top).join(', ');
  return items.length > top ? `${shown} and ${grouped(items.length - top)} more (see --json)` : shown;
}

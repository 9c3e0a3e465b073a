/** "1 batch", "2 batches", "21,779 records": a count with its noun, in the one number format. */
export function count(value: number, singular: string, plural = `${singular}s`): string {
  return `${value.toLocaleString('en-US')} ${value === 1 ? singular : plural}`;
}

/** The noun alone, for a count printed elsewhere. */
export function noun(value: number, singular: string, plural = `${singular}s`): string {
  return value === 1 ? singular : plural;
}

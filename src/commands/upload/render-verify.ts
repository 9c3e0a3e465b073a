import type { SummaryVerification } from '../../core/upload/shared/verify.js';
import type { Factory } from '../../factory.js';
import { count, grouped } from '../../io/text.js';

/**
 * With --wait, for the methods verified by the user's summary (s3, sdk): what it gained next to what
 * apple-import predicted of what was sent.
 */
export function renderStored(f: Factory, v: SummaryVerification): void {
  const out = f.out;
  const both = (x: { records: number; workouts: number }) =>
    `${count(x.records, 'record')} and ${count(x.workouts, 'workout')}`;
  const resent =
    v.records.resent > 0
      ? ` (besides ${count(v.records.resent, 'record')} sent again that the server may have already)`
      : '';
  out.info(
    `The backend stored ${both({ records: v.records.imported, workouts: v.workouts.imported })} more (the user’s summary before and after); apple-import predicted ${both({ records: v.records.predicted, workouts: v.workouts.predicted })}${resent}.`,
  );
  if (v.alreadyThere)
    out.info(
      `Of those predicted, ${both(v.alreadyThere)} not gained may be rows the server had already (the user had as many in the same series before): sent before by an upload this machine has no record of, they are stored again as the same rows.`,
    );
  if (v.sleep.predicted > 0 || v.sleep.sessions > 0)
    out.info(
      `Sleep: ${count(v.sleep.predicted, 'sample')} sent; the summary counts ${count(v.sleep.sessions, 'sleep session')} more.`,
    );
}

/** An import that completed short of the prediction: by how much, and in which series most. */
export function renderShort(f: Factory, v: SummaryVerification, userId: string): void {
  const fewer: string[] = [];
  if (v.records.imported < v.records.predicted)
    fewer.push(count(v.records.predicted - v.records.imported, 'record'));
  if (v.workouts.imported < v.workouts.predicted)
    fewer.push(count(v.workouts.predicted - v.workouts.imported, 'workout'));
  if (fewer.length === 0) return;
  const series = Object.entries(v.bySeries)
    .filter(([, s]) => s.imported < s.predicted)
    .sort((a, b) => b[1].predicted - b[1].imported - (a[1].predicted - a[1].imported))
    .slice(0, 5)
    .map(([name, s]) => `${name} ${grouped(s.imported)} of ${grouped(s.predicted)}`);
  f.out.error(
    `The backend imported ${fewer.join(' and ')} fewer than predicted${series.length > 0 ? ` (${series.join(', ')})` : ''}.`,
  );
  f.out.hint(
    `see what the server says with \`apple-import status --user ${userId}\`; records the server had already (from another client) are overwritten, not added`,
  );
}

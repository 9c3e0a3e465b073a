/**
 * One Record or Workout as the backend-import model (core/model) reads it once apple-import has
 * repaired it: its outcome, whether its compact dates are rewritten (and the attributes as sent), its
 * startDate's instant and, for a workout, its key. What every method decides a sample by (direct as it
 * builds batches, s3 in the filtered document), so the methods make the same repairs.
 */
import { backendDate } from '../../model/dates.js';
import { ElementFields, F_DEVICE } from '../../model/fields.js';
import {
  deviceModel,
  IMPORT_WORKOUT,
  judgeRecord,
  judgeWorkout,
  REPAIR_DATE_FORMAT,
  statisticFails,
  verdict,
  workoutKey,
} from '../../model/judge.js';
import { TypeTable } from '../../model/record-types.js';
import type { ExportElement } from '../../reader/types.js';
import type { WorkoutRef } from './workout-keys.js';

export interface SampleVerdict {
  /** judge.ts outcome. */
  outcome: number;
  /** Its compact dates are rewritten into the backend's format. */
  rewritten: boolean;
  /** The attributes as sent (the element's own when nothing is rewritten). */
  attrs: Readonly<Record<string, string>>;
  /** startDate's instant (epoch ms; NaN when unreadable). */
  startMs: number;
  /** An imported workout's key and what names it; null otherwise. */
  workout: WorkoutRef | null;
}

const DATE_ATTRS = new Set(['startDate', 'endDate', 'creationDate']);

/** The attributes with every compact date in the backend's format (the model's date repair). */
export function rewriteDates(attrs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in attrs) {
    const v = attrs[key] as string;
    out[key] = DATE_ATTRS.has(key) ? (backendDate(v) ?? v) : v;
  }
  return out;
}

/** Whether a direct WorkoutStatistics child makes the backend skip the workout (judge.ts statisticFails). */
function badStatistic(el: ExportElement): boolean {
  for (const c of el.children)
    if (c.name === 'WorkoutStatistics' && statisticFails(c.attrs.type, c.attrs.minimum, c.attrs.maximum))
      return true;
  return false;
}

export class SampleJudge {
  private readonly fields = new ElementFields();
  private readonly types = new TypeTable();

  /** `type`: the Record's type (ignored for a workout). */
  judge(el: ExportElement, kind: 'record' | 'workout', type: string): SampleVerdict {
    const f = this.fields;
    f.setAttrs(el.attrs);
    const outcome =
      kind === 'workout'
        ? judgeWorkout(f, badStatistic(el), { convertDates: true })
        : judgeRecord(f, this.types.named(type), { convertDates: true });
    const rewritten = (verdict.repaired & REPAIR_DATE_FORMAT) !== 0;
    const attrs = rewritten ? rewriteDates(el.attrs) : el.attrs;
    const workout: WorkoutRef | null =
      outcome === IMPORT_WORKOUT
        ? {
            key: workoutKey(deviceModel(f.text(F_DEVICE)), verdict.startMs, verdict.endMs),
            startMs: verdict.startMs,
            info: {
              activity: el.attrs.workoutActivityType ?? '(none)',
              sourceName: el.attrs.sourceName ?? '(none)',
              startDate: attrs.startDate ?? '',
              line: el.line,
              column: el.column,
            },
          }
        : null;
    return { outcome, rewritten, attrs, startMs: verdict.startMs, workout };
  }
}

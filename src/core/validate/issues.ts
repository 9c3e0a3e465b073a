/**
 * The report's issues: elements the backend skips (or fails on) for a defect of their own, by kind.
 * The backend-import model (model/judge.ts) decides; this names its outcomes as the report always has.
 */
import {
  FAIL_VALUE_OUT_OF_RANGE,
  SKIP_FOREIGN_NAMESPACE,
  SKIP_INVALID_DATE,
  SKIP_INVALID_STATISTIC,
  SKIP_INVALID_VALUE,
  SKIP_OLD_DATE_FORMAT,
  SKIP_UNKNOWN_SLEEP_STAGE,
} from '../model/judge.js';

export type IssueKind =
  | 'missing-attribute'
  | 'malformed-date'
  | 'old-date-format'
  | 'missing-value'
  | 'non-numeric-value'
  | 'unknown-sleep-stage'
  | 'invalid-statistic'
  | 'foreign-namespace'
  | 'value-out-of-range';

/** The issue kind of a skip or failure (judge.ts outcome); `present`: the attribute that decided it is there. */
export function issueKindOf(outcome: number, present: boolean): IssueKind {
  switch (outcome) {
    case SKIP_INVALID_VALUE:
      return present ? 'non-numeric-value' : 'missing-value';
    case SKIP_INVALID_DATE:
      return present ? 'malformed-date' : 'missing-attribute';
    case SKIP_OLD_DATE_FORMAT:
      return 'old-date-format';
    case SKIP_UNKNOWN_SLEEP_STAGE:
      return 'unknown-sleep-stage';
    case SKIP_INVALID_STATISTIC:
      return 'invalid-statistic';
    case SKIP_FOREIGN_NAMESPACE:
      return 'foreign-namespace';
    case FAIL_VALUE_OUT_OF_RANGE:
      return 'value-out-of-range';
    default:
      return 'missing-attribute';
  }
}

/**
 * Apple's dates (`2024-01-15 08:30:00 +0100`, or the iOS 8-era compact form the other methods also
 * rewrite, core/model/dates.ts backendDate) as RFC 3339 with the record's own offset, which pydantic reads
 * (contract §6.2), and that offset as the record's `zoneOffset` (`+01:00`).
 */
import { backendDate } from '../../model/dates.js';

const APPLE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

export interface SdkDate {
  rfc3339: string;
  zoneOffset: string;
  /** Epoch milliseconds. */
  ms: number;
}

/** The date in RFC 3339, or null when it is not a real instant in one of Apple's forms. */
export function sdkDate(value: string | undefined): SdkDate | null {
  if (value === undefined) return null;
  let m = APPLE.exec(value);
  if (m === null) {
    const rewritten = backendDate(value);
    if (rewritten === null) return null;
    m = APPLE.exec(rewritten);
    if (m === null) return null;
  }
  const [, y, mo, d, h, mi, s, sign, zh, zm] = m as unknown as string[];
  if (Number(zh) > 23 || Number(zm) > 59) return null;
  const local = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!);
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== +y! ||
    check.getUTCMonth() !== +mo! - 1 ||
    check.getUTCDate() !== +d! ||
    check.getUTCHours() !== +h! ||
    check.getUTCMinutes() !== +mi! ||
    check.getUTCSeconds() !== +s!
  )
    return null;
  const offsetMin = (sign === '-' ? -1 : 1) * (Number(zh) * 60 + Number(zm));
  const zoneOffset = `${sign}${zh}:${zm}`;
  return {
    rfc3339: `${y}-${mo}-${d}T${h}:${mi}:${s}${zoneOffset}`,
    zoneOffset,
    ms: local - offsetMin * 60_000,
  };
}

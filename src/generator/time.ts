/** Local-time formatting in Apple's `YYYY-MM-DD HH:MM:SS ±HHMM` (format §1.8), with DST per locale. */

export interface ZoneRule {
  name: string;
  /** Standard offset in minutes east of UTC. */
  std: number;
  /** Offset during summer time, or undefined for zones without DST. */
  dst?: number;
  rule?: 'us' | 'eu';
}

export const ZONES: Record<string, ZoneRule> = {
  en_US: { name: 'America/Los_Angeles', std: -480, dst: -420, rule: 'us' },
  fr_FR: { name: 'Europe/Paris', std: 60, dst: 120, rule: 'eu' },
  de_DE: { name: 'Europe/Berlin', std: 60, dst: 120, rule: 'eu' },
  pt_PT: { name: 'Europe/Lisbon', std: 0, dst: 60, rule: 'eu' },
  zh_CN: { name: 'Asia/Shanghai', std: 480 },
};

const DAY = 86400;

function nthSunday(year: number, month: number, n: number): number {
  const first = Date.UTC(year, month, 1) / 1000;
  const dow = new Date(first * 1000).getUTCDay();
  return first + (((7 - dow) % 7) + 7 * (n - 1)) * DAY;
}

function lastSunday(year: number, month: number): number {
  const last = Date.UTC(year, month + 1, 0) / 1000;
  const dow = new Date(last * 1000).getUTCDay();
  return last - dow * DAY;
}

/** Maps UTC epoch seconds to local strings; caches the DST switch instants per year. */
export class LocalClock {
  private readonly switches = new Map<number, [number, number]>();
  private readonly dayCache = new Map<number, string>();
  private static readonly hms: string[] = buildHms();

  constructor(readonly zone: ZoneRule) {}

  offsetMinutes(utc: number): number {
    const z = this.zone;
    if (z.dst === undefined || z.rule === undefined) return z.std;
    const year = new Date(utc * 1000).getUTCFullYear();
    let sw = this.switches.get(year);
    if (!sw) {
      // Both switch instants in UTC: US at 02:00 local standard time, EU at 01:00 UTC.
      sw =
        z.rule === 'us'
          ? [nthSunday(year, 2, 2) + 2 * 3600 - z.std * 60, nthSunday(year, 10, 1) + 2 * 3600 - z.dst * 60]
          : [lastSunday(year, 2) + 3600, lastSunday(year, 9) + 3600];
      this.switches.set(year, sw);
    }
    return utc >= sw[0] && utc < sw[1] ? z.dst : z.std;
  }

  /** Apple's date string for a UTC instant. */
  format(utc: number): string {
    const off = this.offsetMinutes(utc);
    const local = utc + off * 60;
    const day = Math.floor(local / DAY);
    let prefix = this.dayCache.get(day);
    if (prefix === undefined) {
      prefix = `${new Date(day * DAY * 1000).toISOString().slice(0, 10)} `;
      if (this.dayCache.size > 4096) this.dayCache.clear();
      this.dayCache.set(day, prefix);
    }
    return `${prefix}${LocalClock.hms[local - day * DAY]} ${offsetString(off)}`;
  }

  /** Local wall-clock seconds since midnight. */
  secondOfDay(utc: number): number {
    const local = utc + this.offsetMinutes(utc) * 60;
    return local - Math.floor(local / DAY) * DAY;
  }

  /** UTC instant of local midnight for a calendar day number (days since 1970-01-01). */
  midnight(dayNumber: number): number {
    const guess = dayNumber * DAY - this.zone.std * 60;
    return dayNumber * DAY - this.offsetMinutes(guess) * 60;
  }
}

const offsetCache = new Map<number, string>();
function offsetString(minutes: number): string {
  let s = offsetCache.get(minutes);
  if (s === undefined) {
    const a = Math.abs(minutes);
    s = `${minutes < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}${String(a % 60).padStart(2, '0')}`;
    offsetCache.set(minutes, s);
  }
  return s;
}

function buildHms(): string[] {
  const out: string[] = new Array(DAY);
  for (let s = 0; s < DAY; s++) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    out[s] = `${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:${sec < 10 ? '0' : ''}${sec}`;
  }
  return out;
}

export function dayNumberOf(isoDate: string): number {
  const t = Date.parse(`${isoDate}T00:00:00Z`);
  if (Number.isNaN(t)) throw new Error(`invalid date: ${isoDate}`);
  return t / 1000 / DAY;
}

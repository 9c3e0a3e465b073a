import type { ElementMeta } from './emitter.js';
import { deriveSeed, Rng } from './prng.js';
import type { LocalClock } from './time.js';

export type Out = (xml: string, meta: ElementMeta) => void;

/** Run-wide facts every stream reads (locale, units, sources, quirk rates). */
export interface World {
  seed: number;
  clock: LocalClock;
  locale: string;
  zoneName: string;
  startDay: number;
  days: number;
  modernFromDay: number;
  owner: string;
  energyUnit: string;
  distanceUnit: string;
  massUnit: string;
  controlChars: number;
  dupExact: number;
  bloodPressure: boolean;
  nutrition: boolean;
  quirkyNames: boolean;
  clinical: number;
  audiograms: number;
  vision: boolean;
}

/** Cross-stream facts of one day, derived from its own seed so any stream can recompute them in any order. */
export interface DayPlan {
  workouts: { start: number; end: number; activity: string; indoor: boolean; thirdParty: boolean }[];
  sleep: { bed: number; wake: number };
  bp: { t: number; sys: number; dia: number }[];
  meals: { t: number; name: string; items: [string, string, string][] }[];
}

export interface DayCtx {
  w: World;
  /** Index from the first day. */
  index: number;
  /** Days since 1970-01-01 (local calendar). */
  day: number;
  midnight: number;
  modern: boolean;
  rng: Rng;
  plan: DayPlan;
}

export const ACTIVITIES: [string, number][] = [
  ['HKWorkoutActivityTypeWalking', 30],
  ['HKWorkoutActivityTypeRunning', 20],
  ['HKWorkoutActivityTypeCycling', 15],
  ['HKWorkoutActivityTypeTraditionalStrengthTraining', 8],
  ['HKWorkoutActivityTypeFunctionalStrengthTraining', 7],
  ['HKWorkoutActivityTypeHighIntensityIntervalTraining', 4],
  ['HKWorkoutActivityTypeYoga', 4],
  ['HKWorkoutActivityTypeSwimming', 3],
  ['HKWorkoutActivityTypeHiking', 4],
  ['HKWorkoutActivityTypeElliptical', 3],
  ['HKWorkoutActivityTypeOther', 2],
];
const ACTIVITY_TOTAL = ACTIVITIES.reduce((a, [, w]) => a + w, 0);
const INDOOR_ONLY = /Strength|Yoga|Elliptical|HighIntensity/;

const DIETARY: [string, string, number, number][] = [
  ['HKQuantityTypeIdentifierDietaryEnergyConsumed', 'kcal', 150, 900],
  ['HKQuantityTypeIdentifierDietaryCarbohydrates', 'g', 10, 120],
  ['HKQuantityTypeIdentifierDietaryProtein', 'g', 5, 60],
  ['HKQuantityTypeIdentifierDietaryFatTotal', 'g', 3, 50],
  ['HKQuantityTypeIdentifierDietarySugar', 'g', 1, 40],
  ['HKQuantityTypeIdentifierDietarySodium', 'mg', 100, 1500],
  ['HKQuantityTypeIdentifierDietaryFiber', 'g', 1, 15],
  ['HKQuantityTypeIdentifierDietaryCholesterol', 'mg', 0, 300],
];
const MEALS = ['Breakfast', 'Lunch', 'Dinner', 'Snacks'];

const planCache = new Map<string, DayPlan>();

/** The day's plan (cached: every stream asks for it). */
export function planFor(w: World, day: number, midnight: number): DayPlan {
  const key = `${w.seed}:${day}:${w.bloodPressure}:${w.nutrition}`;
  const hit = planCache.get(key);
  if (hit) return hit;
  const rng = new Rng(deriveSeed(w.seed, 0xfeed, day));
  const workouts: DayPlan['workouts'] = [];
  const n = rng.chance(0.55) ? (rng.chance(0.12) ? 2 : 1) : 0;
  let earliest = midnight + 6 * 3600;
  for (let i = 0; i < n; i++) {
    let x = rng.next() * ACTIVITY_TOTAL;
    let activity = ACTIVITIES[0]![0];
    for (const [a, wt] of ACTIVITIES) {
      x -= wt;
      if (x < 0) {
        activity = a;
        break;
      }
    }
    const start = earliest + rng.int(0, 6 * 3600);
    const minutes = Math.min(180, Math.max(10, rng.lognormal(35, 0.5)));
    const end = start + Math.round(minutes * 60);
    workouts.push({
      start,
      end,
      activity,
      indoor: INDOOR_ONLY.test(activity) || rng.chance(0.15),
      thirdParty: rng.chance(0.05),
    });
    earliest = end + 1800;
  }
  const bed = midnight - rng.int(3600, 2 * 3600 + 1800);
  const wake = midnight + rng.int(6 * 3600, 7 * 3600 + 1800);
  const bp: DayPlan['bp'] = [];
  if (w.bloodPressure && rng.chance(0.2)) {
    bp.push({ t: midnight + rng.int(7 * 3600, 9 * 3600), sys: rng.int(100, 150), dia: rng.int(60, 95) });
  }
  const meals: DayPlan['meals'] = [];
  if (w.nutrition) {
    const count = rng.int(3, 4);
    for (let m = 0; m < count; m++) {
      const t = midnight + (7 + m * 4) * 3600 + rng.int(0, 3600);
      const k = rng.int(4, DIETARY.length);
      const items: [string, string, string][] = [];
      for (const [type, unit, lo, hi] of DIETARY.slice(0, k)) {
        items.push([type, unit, fmtNum(rng.range(lo, hi), unit === 'kcal' ? 0 : 1)]);
      }
      meals.push({ t, name: MEALS[m] ?? 'Snacks', items });
    }
  }
  const plan: DayPlan = { workouts, sleep: { bed, wake }, bp, meals };
  if (planCache.size > 256) planCache.clear();
  planCache.set(key, plan);
  return plan;
}

/** Numbers printed like Apple: integers bare, floats trimmed. */
export function fmtNum(x: number, decimals: number): string {
  if (decimals === 0) return String(Math.round(x));
  return String(Number(x.toFixed(decimals)));
}

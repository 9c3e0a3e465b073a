/**
 * The backend's import of a whole export, counted: per outcome (judge.ts) and type how many elements,
 * how many of them repeat an earlier one (byte for byte; a time-series record, by the row key the
 * backend's upsert keeps one row per, contract §5.8: its row is written again, none added), the
 * repairs assumed, and the workouts' keys, whose collision inside the export fails the whole task
 * (contract §5.6–5.7). Mergeable: a tally of one byte range (a worker thread) goes to the tally of the
 * whole as a TallyPartial, and the workouts are decided there, in file order.
 */
import { IMPORT_WORKOUT, OUTCOMES, REPAIR_DATE_FORMAT } from './judge.js';
import { MAX_TYPES, type TypeTable } from './record-types.js';

/** Workouts whose keys are remembered; past this, collisions among later ones go unnoticed. */
export const MAX_WORKOUTS = 200_000;
/** Collisions described one by one. */
export const MAX_COLLISION_EXAMPLES = 5;

/** What the report says of a workout, to name both sides of a collision. */
export interface WorkoutInfo {
  activity: string;
  sourceName: string;
  startDate: string;
  line: number;
  column: number;
}

export interface WorkoutCollision {
  /** The workout the backend keeps (the first), and the later one whose insert fails the task. */
  first: WorkoutInfo;
  again: WorkoutInfo;
}

export interface TallyPartial {
  /** [outcome, type name, occurrences, repeats]. */
  counts: [number, string, number, number][];
  dateRepairs: number;
  /** [key, info] per imported workout, in file order. */
  workouts: [string, WorkoutInfo][];
}

/** Types the counts have room for at first; they grow by doubling up to MAX_TYPES + 1. */
const FIRST_TYPES = 64;

export class ImportTally {
  /**
   * Per type and outcome ([type * OUTCOMES + outcome]), the occurrences and repeats: sized for the
   * types met so far, since a parallel scan makes a tally per range and most exports have few types.
   */
  private counts = new Float64Array(OUTCOMES * FIRST_TYPES);
  private repeats = new Float64Array(OUTCOMES * FIRST_TYPES);
  private width = FIRST_TYPES;
  /** Elements whose compact dates the upload rewrites. */
  dateRepairs = 0;
  private readonly keys = new Map<string, WorkoutInfo>();
  /** Workouts that repeat an earlier one's key. */
  collisions = 0;
  readonly collisionExamples: WorkoutCollision[] = [];
  /** More workouts than MAX_WORKOUTS: later collisions may be missed. */
  saturated = false;
  /** A range's tally keeps its workouts in order for the whole one to decide (see absorb). */
  private readonly pending: [string, WorkoutInfo][] | null;

  constructor(
    readonly types: TypeTable,
    opts: { deferWorkouts?: boolean } = {},
  ) {
    this.pending = opts.deferWorkouts ? [] : null;
  }

  /** One element with this outcome and type (a RecordType index); `repaired`: verdict.repaired. */
  add(outcome: number, type: number, repaired = 0): void {
    if (type >= this.width) this.grow(type);
    this.counts[type * OUTCOMES + outcome]!++;
    if (repaired & REPAIR_DATE_FORMAT) this.dateRepairs++;
  }

  /** `n` elements with this outcome and type, none repaired (counted elsewhere, then added at once). */
  addMany(outcome: number, type: number, n: number): void {
    if (type >= this.width) this.grow(type);
    this.counts[type * OUTCOMES + outcome]! += n;
  }

  /** An element counted by add() that repeats an earlier one (byte for byte, or a record its row key). */
  repeat(outcome: number, type: number): void {
    if (type >= this.width) this.grow(type);
    this.repeats[type * OUTCOMES + outcome]!++;
  }

  /** Room for type index `type`. */
  private grow(type: number): void {
    let width = this.width;
    while (width <= type) width *= 2;
    width = Math.min(width, MAX_TYPES + 1);
    const counts = new Float64Array(OUTCOMES * width);
    const repeats = new Float64Array(OUTCOMES * width);
    counts.set(this.counts);
    repeats.set(this.repeats);
    this.counts = counts;
    this.repeats = repeats;
    this.width = width;
  }

  /** An imported workout with the backend's key (judge.ts workoutKey). */
  workout(key: string, info: WorkoutInfo): void {
    if (this.pending !== null) this.pending.push([key, info]);
    else this.decide(key, info);
  }

  private decide(key: string, info: WorkoutInfo): void {
    const first = this.keys.get(key);
    if (first !== undefined) {
      this.collisions++;
      if (this.collisionExamples.length < MAX_COLLISION_EXAMPLES)
        this.collisionExamples.push({ first, again: info });
      return;
    }
    if (this.keys.size >= MAX_WORKOUTS) {
      this.saturated = true;
      return;
    }
    this.keys.set(key, info);
  }

  /** Occurrences (less repeats, with `distinct`) of an outcome, over all types. */
  total(outcome: number, distinct = false): number {
    let n = 0;
    for (let i = outcome, end = this.width * OUTCOMES; i < end; i += OUTCOMES)
      n += this.counts[i]! - (distinct ? this.repeats[i]! : 0);
    return n;
  }

  /** Per type name, the occurrences (less repeats) of an outcome; types without any are left out. */
  byType(outcome: number, distinct = false): Map<string, number> {
    const out = new Map<string, number>();
    const list = this.types.list;
    for (let t = 0; t < list.length && t < this.width; t++) {
      const n = this.counts[t * OUTCOMES + outcome]! - (distinct ? this.repeats[t * OUTCOMES + outcome]! : 0);
      if (n > 0) out.set(list[t]!.name, (out.get(list[t]!.name) ?? 0) + n);
    }
    return out;
  }

  toPartial(): TallyPartial {
    const counts: [number, string, number, number][] = [];
    const list = this.types.list;
    for (let o = 0; o < OUTCOMES; o++)
      for (let t = 0; t < list.length && t < this.width; t++) {
        const n = this.counts[t * OUTCOMES + o]!;
        const r = this.repeats[t * OUTCOMES + o]!;
        if (n > 0 || r > 0) counts.push([o, list[t]!.name, n, r]);
      }
    return { counts, dateRepairs: this.dateRepairs, workouts: this.pending ?? [] };
  }

  /** Adds the tally of the next byte range, deciding its workouts after all the earlier ones. */
  absorb(p: TallyPartial): void {
    for (const [o, name, n, r] of p.counts) {
      const t = this.types.named(name).index;
      if (t >= this.width) this.grow(t);
      this.counts[t * OUTCOMES + o]! += n;
      this.repeats[t * OUTCOMES + o]! += r;
    }
    this.dateRepairs += p.dateRepairs;
    for (const [key, info] of p.workouts) this.decide(key, info);
  }

  /** The tally's index of a type index from another table (a range's), by name. */
  translate(from: TypeTable, type: number): number {
    return this.types.named(from.list[type]!.name).index;
  }

  /** Imported workouts, counting each key once. */
  distinctWorkouts(): number {
    return this.total(IMPORT_WORKOUT) - this.collisions;
  }
}

/** The `verification` of an upload's --json document (docs/schemas/upload.schema.json), as tests read it. */
export interface Verification {
  predicted: number;
  imported: number;
  units: number;
  failed: number;
  ok: boolean;
  settled: string;
  records: { predicted: number; resent: number; imported: number };
  workouts: { predicted: number; imported: number };
  sleep: { predicted: number; sessions: number };
  bySeries: Record<string, { predicted: number; imported: number }>;
  alreadyThere?: { records: number; workouts: number };
  stoppedAt?: { activity: string; startDate: string };
  learnt?: number;
}

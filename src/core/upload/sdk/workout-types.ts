/**
 * `HKWorkoutActivityType…` → the SDK's workout names (the backend's `apple_sdk` list, contract §6.2): the
 * HealthKit name in snake case, except where the SDK shortens or renames it. An activity type the SDK does
 * not name is sent as `other`, which the backend also makes of an unknown name.
 */
const PREFIX = 'HKWorkoutActivityType';

const RENAMED: Readonly<Record<string, string>> = {
  HighIntensityIntervalTraining: 'hiit',
  TraditionalStrengthTraining: 'strength_training',
  EquestrianSports: 'equestrian',
  SkatingSports: 'skating',
  SurfingSports: 'surfing',
  WheelchairWalkPace: 'wheelchair_walk',
  WheelchairRunPace: 'wheelchair_run',
};

/** HealthKit names the SDK takes in snake case as they are. */
const SNAKE = new Set(
  (
    'Walking Running Cycling HandCycling Elliptical StairClimbing Stairs JumpRope CoreTraining ' +
    'FunctionalStrengthTraining CrossTraining MixedCardio StepTraining FitnessGaming PreparationAndRecovery ' +
    'Flexibility Cooldown Barre CardioDance SocialDance Yoga MindAndBody Pilates AmericanFootball ' +
    'AustralianFootball Baseball Basketball Cricket DiscSports Handball Hockey Lacrosse Rugby Soccer Softball ' +
    'Volleyball Badminton Pickleball Racquetball Squash TableTennis Tennis Climbing Fishing Golf Hiking ' +
    'Hunting Play CrossCountrySkiing Curling DownhillSkiing SnowSports Snowboarding PaddleSports Rowing ' +
    'Sailing Swimming UnderwaterDiving WaterFitness WaterPolo WaterSports Boxing Kickboxing MartialArts ' +
    'TaiChi Wrestling Archery Bowling Fencing Gymnastics TrackAndField SwimBikeRun Transition Dance ' +
    'DanceInspiredTraining MixedMetabolicCardioTraining Other'
  ).split(' '),
);

const snake = (s: string) => s.replace(/[A-Z0-9]/g, (c, i: number) => (i === 0 ? '' : '_') + c.toLowerCase());

export function sdkWorkoutType(activityType: string | undefined): string {
  if (!activityType?.startsWith(PREFIX)) return 'other';
  const name = activityType.slice(PREFIX.length);
  const renamed = RENAMED[name];
  if (renamed) return renamed;
  return SNAKE.has(name) ? snake(name) : 'other';
}

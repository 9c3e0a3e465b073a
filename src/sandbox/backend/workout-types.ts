// The backend's workout type tables (contract §5.9 for the XML path, §6.2 for the SDK path): what a workout is
// stored as. Like mapped-types.ts, an independent copy on purpose — the double must not share the product's
// model of the backend. Unified values are the snake_case names of the backend's `WorkoutType`.

const XML_TYPES =
  'Walking walking;Running running;Cycling cycling;WheelchairWalkPace walking;WheelchairRunPace running;' +
  'HandCycling cycling;Elliptical elliptical;StairClimbing stair_climbing;Stairs stair_climbing;' +
  'JumpRope cardio_training;CoreTraining strength_training;FunctionalStrengthTraining strength_training;' +
  'TraditionalStrengthTraining strength_training;CrossTraining cardio_training;MixedCardio cardio_training;' +
  'HighIntensityIntervalTraining cardio_training;StepTraining aerobics;FitnessGaming gaming;' +
  'PreparationAndRecovery stretching;Flexibility stretching;Cooldown stretching;Barre aerobics;' +
  'CardioDance dance;SocialDance dance;Yoga yoga;MindAndBody stretching;Pilates pilates;' +
  'AmericanFootball american_football;AustralianFootball football;Baseball baseball;Basketball basketball;' +
  'Cricket cricket;DiscSports disc_sports;Handball handball;Hockey hockey;Lacrosse lacrosse;Rugby rugby;' +
  'Soccer soccer;Softball baseball;Volleyball volleyball;Badminton badminton;Pickleball pickleball;' +
  'Racquetball racquetball;Squash squash;TableTennis table_tennis;Tennis tennis;Climbing rock_climbing;' +
  'EquestrianSports horseback_riding;Fishing fishing;Golf golf;Hiking hiking;Hunting hunting;Play play;' +
  'CrossCountrySkiing cross_country_skiing;Curling curling;DownhillSkiing alpine_skiing;' +
  'SnowSports snow_sports;Snowboarding snowboarding;SkatingSports ice_skating;PaddleSports paddling;' +
  'Rowing rowing;Sailing sailing;SurfingSports surfing;Swimming swimming;UnderwaterDiving diving;' +
  'WaterFitness swimming;WaterPolo water_polo;WaterSports water_sports;Boxing boxing;Kickboxing boxing;' +
  'MartialArts martial_arts;TaiChi martial_arts;Wrestling martial_arts;Archery archery;Bowling bowling;' +
  'Fencing fencing;Gymnastics fitness_equipment;TrackAndField running;SwimBikeRun triathlon;' +
  'Transition transition;Dance dance;DanceInspiredTraining dance;MixedMetabolicCardioTraining cardio_training;' +
  'Other generic';

// The Apple HealthKit part of the SDK vocabulary (the Health Connect names the backend also takes are left
// out: this double stands in for an Apple export's path).
const SDK_TYPES =
  'walking walking;running running;cycling cycling;wheelchair_walk walking;wheelchair_run running;' +
  'hand_cycling cycling;elliptical elliptical;stair_climbing stair_climbing;stairs stair_climbing;' +
  'jump_rope cardio_training;core_training strength_training;functional_strength_training strength_training;' +
  'strength_training strength_training;cross_training cardio_training;mixed_cardio cardio_training;' +
  'hiit cardio_training;step_training aerobics;fitness_gaming gaming;preparation_and_recovery stretching;' +
  'flexibility stretching;cooldown stretching;barre aerobics;cardio_dance dance;social_dance dance;yoga yoga;' +
  'mind_and_body stretching;pilates pilates;american_football american_football;' +
  'australian_football football;baseball baseball;basketball basketball;cricket cricket;' +
  'disc_sports disc_sports;handball handball;hockey hockey;lacrosse lacrosse;rugby rugby;soccer soccer;' +
  'softball baseball;volleyball volleyball;badminton badminton;pickleball pickleball;racquetball racquetball;' +
  'squash squash;table_tennis table_tennis;tennis tennis;climbing rock_climbing;equestrian horseback_riding;' +
  'fishing fishing;golf golf;hiking hiking;hunting hunting;play play;cross_country_skiing cross_country_skiing;' +
  'curling curling;downhill_skiing alpine_skiing;snow_sports snow_sports;snowboarding snowboarding;' +
  'skating ice_skating;paddle_sports paddling;rowing rowing;sailing sailing;surfing surfing;swimming swimming;' +
  'underwater_diving diving;water_fitness swimming;water_polo water_polo;water_sports water_sports;' +
  'boxing boxing;kickboxing boxing;martial_arts martial_arts;tai_chi martial_arts;wrestling martial_arts;' +
  'archery archery;bowling bowling;fencing fencing;gymnastics fitness_equipment;track_and_field running;' +
  'swim_bike_run triathlon;transition transition;dance dance;dance_inspired_training dance;' +
  'mixed_metabolic_cardio_training cardio_training;other generic';

function table(spec: string): ReadonlyMap<string, string> {
  return new Map(spec.split(';').map((pair) => pair.split(' ') as [string, string]));
}

const XML_MAP = table(XML_TYPES);
const SDK_MAP = table(SDK_TYPES);

/** `HKWorkoutActivityTypeRunning` → `running`; unknown types are `other` (contract §5.9). */
export function unifiedXmlWorkoutType(activityType: string): string {
  const prefix = 'HKWorkoutActivityType';
  return (activityType.startsWith(prefix) && XML_MAP.get(activityType.slice(prefix.length))) || 'other';
}

/** An SDK workout name (trimmed, lowercased, as the backend does) → unified; unknown names are `other`. */
export function unifiedSdkWorkoutType(name: string): string {
  return SDK_MAP.get(name.trim().toLowerCase()) ?? 'other';
}

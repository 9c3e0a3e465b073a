// What the backend is expected to store of the SDK items sent (--wait), counted from the items the
// converter makes: rows once per data source (app and device model), series and start, workout values
// stored as series at the workout's end, and batch by batch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExportElement } from '../../../../src/core/reader/types.js';
import { SdkConverter } from '../../../../src/core/upload/sdk/convert.js';
import { addPrediction, emptyPrediction, SdkPrediction } from '../../../../src/core/upload/sdk/predict.js';

const HR = 'HKQuantityTypeIdentifierHeartRate';
const SLEEP = 'HKCategoryTypeIdentifierSleepAnalysis';
const T = '2024-02-01 08:00:00 +0100';
const WATCH =
  '<<HKDevice: 0x600001>, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.1>';

const el = (name: string, attrs: Record<string, string>, children: ExportElement[] = []): ExportElement => ({
  name,
  attrs,
  children,
  line: 1,
  column: 1,
});

const heartRate = (sourceName: string, start = T, value = '60', device = WATCH) =>
  el('Record', { type: HR, sourceName, device, unit: 'count/min', startDate: start, endDate: start, value });

describe('sdk prediction', () => {
  it('counts a record once per app, device model, series and start', () => {
    const c = new SdkConverter();
    const p = new SdkPrediction({});
    let n = 0;
    const add = (e: ExportElement, type = HR) => p.add(c.convert(e, type, `id-${n++}`)!, type);
    add(heartRate('Watch'));
    add(heartRate('Watch', T, '61')); // the same row, another value
    add(heartRate('Watch', '2024-02-01 09:00:00 +0200')); // the same instant in another offset
    add(heartRate('Pulse App')); // another app: its own row
    add(heartRate('Watch', T, '62', '')); // no device model: its own row
    add(heartRate('Watch', '2024-02-01 08:00:01 +0100'));
    assert.deepEqual(p.take(), {
      records: 4,
      workouts: 0,
      sleep: 0,
      resent: 0,
      bySeries: { heart_rate: { predicted: 4, resent: 0 } },
    });
  });

  it('counts the workout values the backend stores as series, at the workout’s end, and sleep as sent', () => {
    const c = new SdkConverter();
    const p = new SdkPrediction({});
    const meta = (key: string, value: string) => el('MetadataEntry', { key, value });
    const workout = (end: string) =>
      el(
        'Workout',
        {
          workoutActivityType: 'HKWorkoutActivityTypeRunning',
          sourceName: 'Watch',
          device: WATCH,
          duration: '30',
          durationUnit: 'min',
          startDate: T,
          endDate: end,
        },
        [
          meta('HKWeatherTemperature', '54.1 degF'),
          meta('HKWeatherHumidity', '7200 %'),
          meta('HKAverageMETs', '9.5 kcal/hr·kg'),
          meta('HKElevationAscended', '4210 cm'),
        ],
      );
    p.add(c.convert(workout('2024-02-01 08:30:00 +0100'), 'Workout', 'w1')!, 'Workout');
    p.add(c.convert(workout('2024-02-01 08:40:00 +0100'), 'Workout', 'w2')!, 'Workout');
    const sleep = el('Record', {
      type: SLEEP,
      sourceName: 'Watch',
      value: 'HKCategoryValueSleepAnalysisAsleepCore',
      startDate: T,
      endDate: '2024-02-01 09:00:00 +0100',
    });
    p.add(c.convert(sleep, SLEEP, 's1')!, SLEEP);
    const got = p.take();
    // Elevation goes to a detail column; temperature, humidity and METs are a row each per workout.
    assert.deepEqual([got.records, got.workouts, got.sleep], [6, 2, 1]);
    assert.deepEqual(Object.keys(got.bySeries).sort(), [
      'average_met',
      'weather_humidity',
      'weather_temperature',
    ]);
  });

  it('takes each batch’s counts apart, a key counted once across batches, and tells records sent again', () => {
    const c = new SdkConverter();
    const day = Date.UTC(2024, 1, 1, 7, 0, 0);
    const p = new SdkPrediction({ [HR]: { first: day - 86_400_000, last: day } });
    p.add(c.convert(heartRate('Watch'), HR, 'a')!, HR);
    const first = p.take();
    p.add(c.convert(heartRate('Watch', T, '70'), HR, 'b')!, HR);
    p.add(c.convert(heartRate('Watch', '2024-02-02 08:00:00 +0100'), HR, 'c')!, HR);
    const second = p.take();
    assert.deepEqual([first.records, first.resent], [1, 1], 'at the ledger range’s end');
    assert.deepEqual([second.records, second.resent], [1, 0]);
    const total = emptyPrediction();
    addPrediction(total, first);
    addPrediction(total, second);
    assert.deepEqual(total.bySeries, { heart_rate: { predicted: 2, resent: 1 } });
  });
});

/**
 * A fast, seeded generator of realistic export bytes for the reader benchmark (format §5.7 shapes,
 * ~450 B per Record as in Appendix A). Used when src/generator is not available.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { uniform as rng } from '../../src/generator/prng.js';

const HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n<!-- HealthKit Export Version: 14 -->\n' +
  '<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord|Audiogram|VisionPrescription)*)>\n' +
  '<!ATTLIST HealthData\n  locale CDATA #REQUIRED\n>\n<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>\n' +
  '<!ATTLIST Record\n  type CDATA #REQUIRED\n  unit CDATA #IMPLIED\n  value CDATA #IMPLIED\n  sourceName CDATA #REQUIRED\n>\n]>\n' +
  '<HealthData locale="en_US">\n <ExportDate value="2025-01-05 10:02:17 -0800"/>\n' +
  ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1988-04-02" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale" HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet" HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet" HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>\n';

const TYPES: [string, string][] = [
  ['HKQuantityTypeIdentifierHeartRate', 'count/min'],
  ['HKQuantityTypeIdentifierActiveEnergyBurned', 'Cal'],
  ['HKQuantityTypeIdentifierBasalEnergyBurned', 'Cal'],
  ['HKQuantityTypeIdentifierStepCount', 'count'],
  ['HKQuantityTypeIdentifierDistanceWalkingRunning', 'mi'],
  ['HKQuantityTypeIdentifierPhysicalEffort', 'kcal/hr·kg'],
];

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Writes about `targetBytes` of export to `path`; returns the bytes written. */
export async function writeSyntheticExport(path: string, targetBytes: number, seed = 1): Promise<number> {
  const r = rng(seed);
  const out = createWriteStream(path);
  let written = 0;
  let batch: string[] = [HEADER];
  let batchLen = HEADER.length;
  let t = Date.UTC(2022, 0, 1) / 1000;
  while (written + batchLen < targetBytes) {
    t += Math.floor(r() * 300);
    const d = new Date(t * 1000);
    const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} -0800`;
    const [type, unit] = TYPES[Math.floor(r() * TYPES.length)]!;
    const watch = r() < 0.8;
    const device = watch
      ? ` device="&lt;&lt;HKDevice: 0x28${Math.floor(r() * 0xfffffff).toString(16)}&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.3&gt;"`
      : '';
    const source = watch ? 'Dana’s Apple Watch' : 'Dana’s iPhone';
    const value = (r() * 150).toFixed(4);
    let line = ` <Record type="${type}" sourceName="${source}" sourceVersion="10.3"${device} unit="${unit}" creationDate="${date}" startDate="${date}" endDate="${date}" value="${value}"`;
    if (r() < 0.19) {
      line += `>\n  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="${Math.floor(r() * 3)}"/>\n </Record>\n`;
    } else line += '/>\n';
    batch.push(line);
    batchLen += Buffer.byteLength(line);
    if (batchLen > 1 << 20) {
      if (!out.write(batch.join(''))) await once(out, 'drain');
      written += batchLen;
      batch = [];
      batchLen = 0;
    }
  }
  batch.push('</HealthData>\n');
  batchLen += 14;
  out.write(batch.join(''));
  written += batchLen;
  out.end();
  await once(out, 'finish');
  return written;
}

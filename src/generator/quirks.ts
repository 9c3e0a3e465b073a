import { createHash } from 'node:crypto';
import type { ElementMeta } from './emitter.js';
import type { GeneratorOptions } from './types.js';
import type { Out } from './world.js';

/**
 * Quirks decided per element by a hash of its bytes, not by a stream of random numbers: the same
 * element gets the same decision in any export it appears in, so a longer cumulative export (more
 * days, same seed) repeats the shorter one's elements exactly, quirks included.
 */
function chance(seed: number, salt: string, xml: string): number {
  const h = createHash('sha1').update(`${seed}:${salt}:`).update(xml).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

const RECORD_TAG = /<Record [^>]*>/g;
const DATE_ATTR =
  /(startDate|endDate|creationDate)="(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})"/g;

/**
 * `compactDates`: a Record's dates in the iOS 8-era form (`20141018163200+0100`).
 * `workoutCopies`: a Workout with a device (the Watch) followed by a copy from another app on the same
 * device model with the same start and end and no children (a copy without its route).
 * `recordCopies`: a top-level Record with a device followed by another app's reading of the same
 * sample: the same type, start and device, another sourceName and value (and no children).
 */
export function withQuirks(opts: GeneratorOptions, seed: number, out: Out): Out {
  const compact = opts.compactDates ?? 0;
  const copies = opts.workoutCopies ?? 0;
  const recordCopies = opts.recordCopies ?? 0;
  if (compact <= 0 && copies <= 0 && recordCopies <= 0) return out;
  return (xml, meta) => {
    // Per Record tag, top-level or in a Correlation: a member and its top-level copy stay alike.
    if (compact > 0 && (meta.name === 'Record' || meta.name === 'Correlation'))
      xml = xml.replace(RECORD_TAG, (tag) =>
        chance(seed, 'compact', tag) < compact
          ? tag.replace(DATE_ATTR, (_m, k, y, mo, d, h, mi, s, z) => `${k}="${y}${mo}${d}${h}${mi}${s}${z}"`)
          : tag,
      );
    out(xml, meta);
    if (
      copies > 0 &&
      meta.name === 'Workout' &&
      xml.includes(' device="') &&
      chance(seed, 'copy', xml) < copies
    ) {
      const tag = xml.slice(0, xml.indexOf('>') + 1).replace(/\/?>$/, '/>');
      out(`${tag.replace(/sourceName="[^"]*"/, 'sourceName="Fitness Copy"')}\n`, meta);
    }
    if (
      recordCopies > 0 &&
      meta.name === 'Record' &&
      meta.copyKey === undefined &&
      xml.includes(' device="') &&
      / value="-?\d/.test(xml) &&
      chance(seed, 'record-copy', xml) < recordCopies
    ) {
      const tag = xml.slice(0, xml.indexOf('>') + 1).replace(/\/?>$/, '/>');
      const copy = tag
        .replace(/sourceName="[^"]*"/, 'sourceName="Health Mate"')
        .replace(/ value="(-?\d+)/, (_m, v: string) => ` value="${Number(v) + 1}`);
      // Its own element: no children, no Correlation pairing, not a byte-identical duplicate.
      const own: ElementMeta = { name: meta.name };
      if (meta.type !== undefined) own.type = meta.type;
      if (meta.start !== undefined) own.start = meta.start;
      if (meta.startUtc !== undefined) own.startUtc = meta.startUtc;
      out(`${copy}\n`, own);
    }
  };
}

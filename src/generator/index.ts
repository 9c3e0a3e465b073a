import { createWriteStream } from 'node:fs';
import { PassThrough, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { prolog } from './dtd.js';
import { elementStreams } from './elements.js';
import { type ElementMeta, Emitter, type Sink } from './emitter.js';
import { deriveSeed, Rng } from './prng.js';
import { withQuirks } from './quirks.js';
import { recordStreams } from './records.js';
import { dayNumberOf, LocalClock, ZONES } from './time.js';
import type { GeneratorOptions, GeneratorTruth, ZipExportOptions } from './types.js';
import { type DayCtx, type Out, planFor, type World } from './world.js';
import { writeZip, type ZipInput } from './zip-writer.js';

export type { DtdVariant } from './dtd.js';
export type { GeneratorOptions, GeneratorTruth, ZipExportOptions } from './types.js';

interface Stream {
  id: number;
  run(ctx: DayCtx, out: Out): void;
}

function buildWorld(opts: GeneratorOptions, days: number): World {
  const locale = opts.locale ?? 'en_US';
  const zone = ZONES[locale] ?? ZONES.en_US!;
  const us = locale === 'en_US';
  return {
    seed: opts.seed ?? 1,
    clock: new LocalClock(zone),
    locale,
    zoneName: zone.name,
    startDay: dayNumberOf(opts.startDate ?? '2024-01-01'),
    days,
    modernFromDay: dayNumberOf(opts.modernFrom ?? '2022-09-12'),
    owner: 'Dana',
    energyUnit: us ? 'Cal' : 'kcal',
    distanceUnit: us ? 'mi' : 'km',
    massUnit: us ? 'lb' : 'kg',
    controlChars: opts.controlChars ?? 0,
    dupExact: opts.dupExact ?? 0,
    bloodPressure: opts.bloodPressure ?? true,
    nutrition: opts.nutrition ?? true,
    quirkyNames: opts.quirkyNames ?? true,
    clinical: opts.clinical ?? 2,
    audiograms: opts.audiograms ?? 1,
    vision: opts.vision ?? true,
  };
}

function allStreams(): Stream[] {
  const streams: Stream[] = [];
  let id = 1;
  for (const s of recordStreams()) streams.push({ id: id++, run: s.run });
  for (const s of elementStreams()) streams.push({ id: id++, run: s.run });
  return streams;
}

function dayCtx(w: World, stream: Stream, index: number): DayCtx {
  const day = w.startDay + index;
  const midnight = w.clock.midnight(day);
  return {
    w,
    index,
    day,
    midnight,
    modern: day >= w.modernFromDay,
    rng: new Rng(deriveSeed(w.seed, stream.id, day)),
    plan: planFor(w, day, midnight),
  };
}

function emptyTruth(locale: string, exportVersion: number | undefined, days: number): GeneratorTruth {
  return {
    bytes: 0,
    truncated: false,
    locale,
    exportVersion,
    exportDate: '',
    days,
    elements: {},
    nestedElements: {},
    recordTypes: {},
    recordsPerMonth: {},
    workoutTypes: {},
    exactDuplicates: 0,
    correlations: 0,
    correlationCopies: 0,
    controlChars: 0,
    firstStartDate: undefined,
    lastStartDate: undefined,
  };
}

/** Days needed for targetBytes, measured by generating a few sample days without output. */
function estimateDays(opts: GeneratorOptions): number {
  const target = opts.targetBytes ?? 0;
  const sample = 4;
  const w = buildWorld(opts, sample);
  const em = new Emitter(undefined, emptyTruth('', undefined, sample), undefined, opts.reformat === true);
  const out: Out = (xml, meta) => em.add(xml, meta);
  for (const s of allStreams()) for (let i = 0; i < sample; i++) s.run(dayCtx(w, s, i), out);
  return Math.max(1, Math.ceil(target / (em.bytes / sample)));
}

/**
 * Writes a synthetic, seeded Apple Health export.xml (format §5) to `sink` and returns what it wrote.
 * Memory stays constant: elements are produced per (type, day) and written in ~1 MiB chunks.
 */
export async function generateExport(
  opts: GeneratorOptions,
  sink: Writable | ((chunk: string) => void),
): Promise<GeneratorTruth> {
  const days = opts.targetBytes !== undefined ? estimateDays(opts) : (opts.days ?? 30);
  const w = buildWorld(opts, days);
  const dtd = opts.dtd ?? 'valid';
  const exportVersion =
    dtd === 'none' ? undefined : (opts.exportVersion ?? (dtd === 'ios16-unclosed-attlist' ? 12 : 14));
  const truth = emptyTruth(w.locale, exportVersion, days);
  const em = new Emitter(sink as Sink, truth, opts.truncateAt, opts.reformat === true);
  const exportUtc = w.clock.midnight(w.startDay + days) + 10 * 3600 + 137;
  truth.exportDate = w.clock.format(exportUtc);

  em.raw(prolog(dtd, exportVersion ?? 14));
  em.raw(`<HealthData locale="${w.locale}">\n`);
  em.add(` <ExportDate value="${truth.exportDate}"/>\n`, { name: 'ExportDate' });
  em.add(
    ` <Me HKCharacteristicTypeIdentifierDateOfBirth="1988-04-02" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale" HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet" HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet" HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>\n`,
    { name: 'Me' },
  );

  const streams = allStreams();
  const direct: Out = withQuirks(opts, w.seed, (xml, meta) => em.add(xml, meta));
  if (opts.shuffleOrder) {
    const pending: [string, ElementMeta][] = [];
    const collect: Out = (xml, meta) => {
      pending.push([xml, meta]);
    };
    for (let i = 0; i < days && !em.done; i++) {
      for (const s of streams) s.run(dayCtx(w, s, i), collect);
      const rng = new Rng(deriveSeed(w.seed, 0x5eed, i));
      for (let k = pending.length - 1; k > 0; k--) {
        const j = Math.floor(rng.next() * (k + 1));
        [pending[k], pending[j]] = [pending[j]!, pending[k]!];
      }
      for (const [xml, meta] of pending) direct(xml, meta);
      pending.length = 0;
      if (em.wantsFlush) await em.flush();
    }
  } else {
    // Apple groups by type, then time (format §5.3): each stream runs over every day before the next.
    for (const s of streams) {
      for (let i = 0; i < days && !em.done; i++) {
        s.run(dayCtx(w, s, i), direct);
        if (em.wantsFlush) await em.flush();
      }
    }
  }
  em.raw('</HealthData>\n');
  await em.flush();
  truth.bytes = em.bytes;
  return truth;
}

/** Generates straight into a file. */
export async function writeExportFile(path: string, opts: GeneratorOptions): Promise<GeneratorTruth> {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const truth = await generateExport(opts, out);
  out.end();
  await finished(out);
  return truth;
}

/** Generates an export.zip laid out like the Health app's (format §1.2), with the zip quirks of §5.6. */
export async function writeExportZip(path: string, opts: ZipExportOptions): Promise<GeneratorTruth> {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  const xml = new PassThrough({ highWaterMark: 1 << 20 });
  const entryName = opts.entryName ?? (opts.locale === 'zh_CN' ? '导出.xml' : 'export.xml');
  const method = opts.compression ?? 'deflate';
  const zip64 = opts.forceZip64 === true;
  const inputs: ZipInput[] = [];
  if (opts.directoryEntries !== false) inputs.push({ name: 'apple_health_export/' });
  if (opts.cdaFile)
    inputs.push({
      name: 'apple_health_export/export_cda.xml',
      data: '<?xml version="1.0" encoding="UTF-8"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Health Data</title></ClinicalDocument>\n',
      method,
    });
  inputs.push({ name: `apple_health_export/${entryName}`, data: xml, method, zip64 });
  if (opts.macosxJunk)
    inputs.push(
      { name: '__MACOSX/' },
      { name: `__MACOSX/apple_health_export/._${entryName}`, data: Buffer.from([0, 5, 22, 7, 0, 2, 0, 0]) },
    );
  const zipping = writeZip(out, inputs, { zip64Eocd: zip64 });
  let truth: GeneratorTruth;
  try {
    truth = await generateExport(opts, xml);
    xml.end();
  } catch (err) {
    xml.destroy(err as Error);
    out.destroy();
    throw err;
  }
  await zipping;
  out.end();
  await finished(out);
  return truth;
}

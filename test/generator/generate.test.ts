import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openExport } from '../../src/adapters/export-source.js';
import { generateExport, writeExportZip } from '../../src/generator/index.js';

async function render(opts: Parameters<typeof generateExport>[0]) {
  let text = '';
  const truth = await generateExport(opts, (c) => {
    text += c;
  });
  return { text, truth };
}

describe('generateExport', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'generator-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is deterministic per seed and differs across seeds', async () => {
    const a = await render({ seed: 5, days: 2 });
    const b = await render({ seed: 5, days: 2 });
    const c = await render({ seed: 6, days: 2 });
    assert.equal(a.text, b.text);
    assert.notEqual(a.text, c.text);
    assert.equal(Buffer.byteLength(a.text), a.truth.bytes);
  });

  it('hits the calibration targets of format §5.1', async () => {
    const { text, truth } = await render({ seed: 1, days: 30 });
    const records = truth.elements.Record ?? 0;
    const perDay = records / 30;
    const bytesPerRecord = truth.bytes / records;
    const metadataPerRecord = (truth.nestedElements.MetadataEntry ?? 0) / records;
    assert.ok(perDay >= 1300 && perDay <= 2200, `records/day ${perDay}`);
    assert.ok(bytesPerRecord >= 400 && bytesPerRecord <= 460, `bytes/record ${bytesPerRecord}`);
    assert.ok(metadataPerRecord >= 0.18 && metadataPerRecord <= 0.4, `metadata/record ${metadataPerRecord}`);
    assert.equal(truth.elements.ActivitySummary, 30);
    // ActiveEnergyBurned dominates (format §5.2).
    const top = Object.entries(truth.recordTypes).sort((x, y) => y[1] - x[1])[0]![0];
    assert.match(top, /ActiveEnergyBurned|HeartRate/);
    // One element per line, one-space indentation, U+2019 names, escaped device with a 9-digit pointer.
    assert.match(
      text,
      /\n <Record type="[^"]+" sourceName="Dana’s Apple Watch" sourceVersion="[\d.]+" device="&lt;&lt;HKDevice: 0x[0-9a-f]{9}&gt;, name:Apple Watch/,
    );
    assert.match(
      text,
      /\n {2}<HeartRateVariabilityMetadataList>\n {3}<InstantaneousBeatsPerMinute bpm="\d+" time="\d{1,2}:\d\d:\d\d\.\d\d [AP]M"\/>/,
    );
    assert.match(text, /<Correlation type="HKCorrelationTypeIdentifierFood"/);
    assert.match(text, /<WorkoutStatistics type=/);
    assert.match(text, /startDate="2024-01-0\d \d\d:\d\d:\d\d -0800"/);
    assert.doesNotMatch(text, /\t/);
  });

  it('switches DST offsets and era shapes', async () => {
    const { text } = await render({ seed: 2, days: 20, startDate: '2022-09-01', nutrition: false });
    assert.match(text, / -0700"/);
    // Legacy workouts carry totals; modern ones carry statistics (format §2.9).
    const workouts = text.split('\n').filter((l) => l.startsWith(' <Workout ') && !l.includes('Strava'));
    assert.ok(workouts.some((l) => l.includes('totalEnergyBurned=') && l.includes('startDate="2022-09-0')));
    assert.ok(
      !workouts.some((l) => l.includes('totalEnergyBurned=') && /startDate="2022-09-(1[2-9]|2)/.test(l)),
    );
    const fr = await render({ seed: 2, days: 2, locale: 'fr_FR', startDate: '2024-06-01' });
    assert.match(fr.text, / \+0200"/);
    assert.match(fr.text, /time="\d\d:\d\d:\d\d,\d\d"/);
    assert.match(fr.text, /unit="km"/);
  });

  it('writes each DTD variant as specified', async () => {
    const ios16 = (await render({ seed: 1, days: 1, dtd: 'ios16-unclosed-attlist' })).text;
    assert.match(ios16, /<!-- HealthKit Export Version: 12 -->/);
    assert.match(ios16, /brand {12}CDATA #IMPLIED\n<!ELEMENT RightEye/);
    assert.match(ios16, />\n>\n\]>\n/);
    const missing = (await render({ seed: 1, days: 1, dtd: 'missing-gt' })).text;
    assert.match(missing, /identifier CDATA #IMPLIED\n\]>/);
    const extra = (await render({ seed: 1, days: 1, dtd: 'extra-gt' })).text;
    assert.match(extra, /identifier CDATA #IMPLIED\n>\n>\n\]>/);
    const none = (await render({ seed: 1, days: 1, dtd: 'none' })).text;
    assert.ok(none.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'));
  });

  it('truncates at exactly the requested byte and counts only complete elements', async () => {
    const { text, truth } = await render({ seed: 3, days: 2, truncateAt: 123_457 });
    assert.equal(truth.truncated, true);
    assert.equal(truth.bytes, 123_457);
    assert.ok(Buffer.byteLength(text) <= 123_457 + 3);
    const complete = text.split('\n').filter((l) => l.startsWith(' <Record ') && l.endsWith('/>')).length;
    assert.ok((truth.elements.Record ?? 0) <= complete + 1);
  });

  it('injects duplicates, control characters and reformatting on request', async () => {
    const { text, truth } = await render({
      seed: 4,
      days: 2,
      dupExact: 0.02,
      controlChars: 0.2,
      reformat: true,
    });
    assert.ok(truth.exactDuplicates > 0);
    assert.equal(truth.controlChars, (text.match(/\u000b/g) ?? []).length);
    assert.match(text, /<Record\n {3}type="/);
  });

  it('sizes output by targetBytes', async () => {
    const { truth } = await render({ seed: 7, targetBytes: 3_000_000 });
    assert.ok(truth.bytes > 2_000_000 && truth.bytes < 4_500_000, `bytes ${truth.bytes}`);
  });

  it('writes a zip whose main entry reads back identically', async () => {
    const zip = join(dir, 'e.zip');
    const truth = await writeExportZip(zip, {
      seed: 8,
      days: 2,
      locale: 'zh_CN',
      macosxJunk: true,
      cdaFile: true,
    });
    const src = await openExport(zip);
    assert.equal(src.entryName, 'apple_health_export/导出.xml');
    assert.equal(src.size, truth.bytes);
    const hash = createHash('sha256');
    for await (const c of src.open()) hash.update(c);
    const direct = createHash('sha256').update((await render({ seed: 8, days: 2, locale: 'zh_CN' })).text);
    assert.equal(hash.digest('hex'), direct.digest('hex'));
    assert.ok((await readFile(zip)).length < truth.bytes / 8, 'deflated');
  });
});

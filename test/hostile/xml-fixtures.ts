/**
 * Hostile but complete export.xml files, streamed to disk at test time so that a 600 MB text node
 * costs a few MB of the test's memory: every one ends with `</HealthData>`, so a message that calls
 * one of them truncated is wrong.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

const RECORD =
  ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Phone" unit="count" creationDate="2024-01-01 10:00:00 +0000" startDate="2024-01-01 09:00:00 +0000" endDate="2024-01-01 09:10:00 +0000" value="12"/>\n';

/** A record whose sourceName is `source` (raw XML, so an entity reference stays one). */
const recordNamed = (source: string) => RECORD.replace('sourceName="Phone"', `sourceName="${source}"`);

export type HostileXml =
  | { kind: 'billion-laughs' }
  | { kind: 'xxe' }
  | { kind: 'deep'; levels: number }
  | { kind: 'attribute'; bytes: number }
  | { kind: 'text'; bytes: number }
  | { kind: 'invalid-utf8' }
  | { kind: 'foreign-namespace' };

export async function writeHostileXml(path: string, spec: HostileXml): Promise<void> {
  const out = createWriteStream(path);
  const put = async (s: string | Buffer) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  /** `bytes` of one ASCII letter, in 1 MiB writes. */
  const filler = async (bytes: number) => {
    const mib = Buffer.alloc(1 << 20, 'a');
    for (let left = bytes; left > 0; left -= mib.length)
      await put(left >= mib.length ? mib : mib.subarray(0, left));
  };
  await put('<?xml version="1.0" encoding="UTF-8"?>\n');
  switch (spec.kind) {
    case 'billion-laughs': {
      let dtd = '<!DOCTYPE HealthData [\n <!ENTITY lol "lol">\n';
      for (let i = 1; i <= 9; i++)
        dtd += ` <!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">\n`;
      await put(`${dtd}]>\n<HealthData locale="en_US">\n${RECORD}${recordNamed('&lol9;')}</HealthData>\n`);
      break;
    }
    case 'xxe':
      await put(
        `<!DOCTYPE HealthData [\n <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n<HealthData locale="en_US">\n${RECORD}${recordNamed('&xxe;')}</HealthData>\n`,
      );
      break;
    case 'deep': {
      await put(`<HealthData locale="en_US">\n${RECORD}`);
      const step = 10_000;
      for (let i = 0; i < spec.levels; i += step) await put('<a>'.repeat(Math.min(step, spec.levels - i)));
      for (let i = 0; i < spec.levels; i += step) await put('</a>'.repeat(Math.min(step, spec.levels - i)));
      await put('\n</HealthData>\n');
      break;
    }
    case 'attribute': {
      const [head, tail] = RECORD.split('Phone');
      await put(`<HealthData locale="en_US">\n${RECORD}${head}`);
      await filler(spec.bytes);
      await put(`${tail}</HealthData>\n`);
      break;
    }
    case 'text':
      await put(`<HealthData locale="en_US">\n${RECORD} <ExportDate value="2024-01-02 10:00:00 +0000">`);
      await filler(spec.bytes);
      await put('</ExportDate>\n</HealthData>\n');
      break;
    case 'invalid-utf8': {
      // 0xC3 0x28: a lead byte followed by one that cannot continue it.
      const [head, tail] = RECORD.split('Phone');
      await put(`<HealthData locale="en_US">\n${RECORD}${head}Ph`);
      await put(Buffer.from([0xc3, 0x28]));
      await put(`one${tail}${RECORD}</HealthData>\n`);
      break;
    }
    case 'foreign-namespace':
      await put(
        `<HealthData xmlns="urn:example:other" locale="en_US">\n${RECORD}${recordNamed('Watch')}</HealthData>\n`,
      );
      break;
  }
  out.end();
  await once(out, 'finish');
}

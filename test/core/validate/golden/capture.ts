/**
 * Writes goldens.json: validate's reports over GOLDEN_VARIANTS as the code of this checkout makes
 * them. Run once at commit 0362dc1 (`node --import tsx test/core/validate/golden/capture.ts`); the
 * golden test compares today's reports with them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeExportFile, writeExportZip } from '../../../../src/generator/index.js';
import { runCli } from '../../../helpers/run-cli.js';
import { GOLDEN_VARIANTS, normalizeReport, normalizeText } from './variants.js';

const dir = await mkdtemp(join(tmpdir(), 'golden-'));
const out: Record<string, { json: unknown; text?: string }> = {};
try {
  for (const v of GOLDEN_VARIANTS) {
    const path = join(dir, `${v.name}.${v.zip ? 'zip' : 'xml'}`);
    if (v.zip) await writeExportZip(path, v.options);
    else await writeExportFile(path, v.options);
    const args = ['validate', path, ...(v.args ?? [])];
    const json = await runCli([...args, '--json']);
    const entry: { json: unknown; text?: string } = {
      json: normalizeReport(JSON.parse(json.stdout) as Record<string, unknown>),
    };
    if (v.text) entry.text = normalizeText((await runCli(args)).stdout, path);
    out[v.name] = entry;
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
await writeFile(new URL('./goldens.json', import.meta.url), `${JSON.stringify(out)}\n`);

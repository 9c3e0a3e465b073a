import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { writeExportFile } from '../../src/generator/index.js';
import { formatBytes } from '../../src/io/progress.js';
import { startBackendDouble } from '../../src/sandbox/backend/index.js';
import { runCli } from '../helpers/run-cli.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/**
 * The text of a file's string literals and template pieces (a template's `${…}` left out, so a nested
 * template is a literal of its own), parsed by the TypeScript compiler: comments are not literals.
 */
function literals(text: string): string[] {
  const file = ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    )
      out.push(node.text);
    ts.forEachChild(node, visit);
  };
  // Template heads, middles and tails are reached through their spans, which forEachChild visits.
  visit(file);
  return out;
}

describe('wording', () => {
  it('no message cites an internal document (contract §…, format §…): users have not read them', () => {
    // The backend double (src/sandbox/backend) speaks as the backend does; its strings are the backend's.
    const offenders = sources(SRC)
      .filter((f) => !f.includes(join('src', 'sandbox', 'backend')))
      .flatMap((f) =>
        literals(readFileSync(f, 'utf8'))
          .filter((s) => /§|\bcontract\b|architecture-anchors|apple-health-format/i.test(s))
          .map((s) => `${relative(SRC, f)}: ${s.slice(0, 120)}`),
      );
    assert.deepEqual(offenders, []);
  });

  it('no "(s)" plural in any string of src/, the sandbox and its backend double included', () => {
    // A word with "(s)" or "(es)" glued on, in a literal: count()/noun() say "1 record", "2 records".
    const plural = /[A-Za-z]\((?:s|es)\)(?![}\w])/;
    const offenders = sources(SRC).flatMap((f) =>
      literals(readFileSync(f, 'utf8'))
        .filter((s) => plural.test(s))
        .map((s) => `${relative(SRC, f)}: ${s.slice(0, 120)}`),
    );
    assert.deepEqual(offenders, []);
  });

  it('no parentheses inside parentheses in a message: "(a (b))" reads as noise', () => {
    // A template's text with each `${…}` as one word, so "(${n} records)" is judged as written. The
    // generator writes Apple's DTD and the backend double speaks as the backend does: neither is ours.
    const nested = /\([^()]*\(|\)\)/;
    // Code kept in strings (a worker's source, a pattern) is not a message.
    const code = /require\(|=>|\(\?:|\\s/;
    const offenders: string[] = [];
    for (const f of sources(SRC).filter(
      (f) => !f.includes(join('src', 'sandbox', 'backend')) && !f.includes(join('src', 'generator')),
    )) {
      const file = ts.createSourceFile('x.ts', readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, false);
      const visit = (n: ts.Node): void => {
        const text = ts.isTemplateExpression(n)
          ? n.head.text + n.templateSpans.map((span) => `x${span.literal.text}`).join('')
          : ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)
            ? n.text
            : null;
        if (text !== null && nested.test(text) && !code.test(text))
          offenders.push(`${relative(SRC, f)}: ${text.slice(0, 120)}`);
        ts.forEachChild(n, visit);
      };
      visit(file);
    }
    assert.deepEqual(offenders, []);
  });

  it('counts agree with their nouns: "1 batch", "1 warning", never "batch(es)"', async () => {
    const backend = await startBackendDouble();
    const dir = await mkdtemp(join(tmpdir(), 'wording-'));
    try {
      const xml = join(dir, 'export.xml');
      await writeExportFile(xml, { days: 1, seed: 3 });
      const user = backend.createUser({ email: 'dana@example.com' }).id;
      const env = {
        APPLE_IMPORT_SERVER: backend.url,
        APPLE_IMPORT_API_KEY: backend.createApiKey(),
        APPLE_IMPORT_CONFIG_DIR: dir,
      };
      const r = await runCli(['upload', xml, '--user', user, '--method', 'direct', '--dry-run'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Plan: 1 batch, [\d,]+ records\n/);
      assert.doesNotMatch(r.stdout + r.stderr, /\((?:s|es)\)|\b1 (?:batches|records|parts|warnings)\b/);
      const sdk = await runCli(['upload', xml, '--user', user, '--method', 'sdk', '--dry-run'], { env });
      assert.equal(sdk.code, 0, sdk.stderr);
      assert.match(sdk.stdout, /^Plan: 1 batch, [\d,]+ samples\n/);
      assert.doesNotMatch(sdk.stdout + sdk.stderr, /\((?:s|es)\)|\b1 (?:batches|records|samples|workouts)\b/);
    } finally {
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('no decimal size in any message or help text: sizes are KiB, MiB and GiB everywhere', () => {
    // The backend double speaks as the backend does (its openapi says "500MB"); the size flags' own
    // examples ("1GB") are what they accept, not a size shown.
    const decimal = /\b\d+(?:\.\d+)? ?(?:kB|KB|MB|GB|TB)\b/;
    const offenders = sources(SRC)
      .filter((f) => !f.includes(join('src', 'sandbox', 'backend')))
      .flatMap((f) =>
        literals(readFileSync(f, 'utf8'))
          .filter((s) => decimal.test(s.replaceAll('1GB', '')))
          .map((s) => `${relative(SRC, f)}: ${s.slice(0, 120)}`),
      );
    assert.deepEqual(offenders, []);
  });

  it('sizes in one convention, binary units, as the size flags take them', () => {
    assert.equal(formatBytes(8 * 1024 * 1024), '8.0 MiB');
    assert.equal(formatBytes(1024 ** 3), '1.0 GiB');
    assert.equal(formatBytes(1000), '1000 B');
  });
});

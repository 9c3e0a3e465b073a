import type { ValidationReport } from '../../core/validate/report.js';
import type { Factory } from '../../factory.js';
import { formatBytes } from '../../io/progress.js';

const n = (v: number) => v.toLocaleString('en-US');

function table(rows: [string, string][], indent = '  '): string[] {
  const w = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(w)}  ${v}`);
}

const BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar of `value / max` over `width` cells with eighth-block precision. */
export function bar(value: number, max: number, width: number): string {
  if (max <= 0 || value <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + BLOCKS[eighths % 8];
}

/** The human report (stdout): facts first, then the chart, then problems. */
export function renderReport(r: ValidationReport, f: Factory): string[] {
  const t = f.out.dataTheme;
  const out: string[] = [];
  const head = (s: string) => {
    out.push('');
    out.push(t.bold(s));
  };
  out.push(...headline(r), '');
  out.push(t.bold(`Apple Health export: ${r.input?.path ?? ''}`));
  if (r.input?.entryName) out.push(`  entry: ${r.input.entryName}`);
  out.push(
    ...table([
      [
        'export version',
        r.exportVersion === null ? 'unknown (no DTD version comment)' : String(r.exportVersion),
      ],
      ['locale', r.locale ?? 'unknown'],
      ['export date', r.exportDate ?? 'unknown'],
      ['first sample', r.records.firstStartDate ?? '-'],
      ['last sample', r.records.lastStartDate ?? '-'],
    ]),
  );
  if (r.filter)
    out.push(
      `  filter: ${[r.filter.since && `since ${r.filter.since}`, r.filter.until && `until ${r.filter.until}`, r.filter.types && `types ${r.filter.types.join(',')}`].filter(Boolean).join(', ')} (${n(r.filter.excluded)} excluded)`,
    );

  head('Elements');
  out.push(...table(Object.entries(r.elements).map(([k, v]) => [k, n(v)])));

  head(`Records by type (${n(r.records.total)})`);
  out.push(...table(Object.entries(r.records.byType).map(([k, v]) => [k, n(v)])));

  if (r.workouts.total > 0) {
    head(`Workouts by activity (${n(r.workouts.total)})`);
    out.push(...table(Object.entries(r.workouts.byActivityType).map(([k, v]) => [k, n(v)])));
  }

  const months = Object.entries(r.records.perMonth);
  if (months.length > 0) {
    head('Records per month');
    const max = Math.max(...months.map(([, v]) => v));
    const width = Math.max(10, Math.min(50, f.io.columns - 30));
    for (const [m, v] of months) out.push(`  ${m} ${t.cyan(bar(v, max, width).padEnd(width))} ${n(v)}`);
  }

  head('Sources');
  out.push(
    ...table(
      r.sources
        .slice(0, 20)
        .map((s) => [
          s.device ? `${s.sourceName} (${s.device})` : s.sourceName,
          `${n(s.records)} records${s.workouts ? `, ${n(s.workouts)} workouts` : ''}`,
        ]),
    ),
  );
  if (r.sources.length > 20) out.push(`  … and ${r.sources.length - 20} more`);

  head(`Ignored by the backend (${n(r.ignored.total)})`);
  out.push(
    ...table([
      ...Object.entries(r.ignored.recordTypes).map(([k, v]): [string, string] => [
        k,
        `${n(v)} records (type not mapped)`,
      ]),
      ...Object.entries(r.ignored.elements).map(([k, v]): [string, string] => [k, `${n(v)} elements`]),
    ]),
  );

  head('Duplicates');
  out.push(
    `  ${n(r.duplicates.exact)} exact duplicate(s)${r.duplicates.saturated ? ' (tracking capped; more may exist)' : ''}`,
  );
  out.push(
    `  ${n(r.correlations.copies)} top-level record(s) repeating a Correlation child (expected in Apple exports)`,
  );

  if (r.defects.length > 0 || r.issues.length > 0) {
    head('Defects');
    for (const d of r.defects) {
      const at = d.examples.map((e) => `${e.line}:${e.column}`).join(', ');
      out.push(
        `  ${d.repairable ? t.yellow('warning') : t.red('error')}  ${d.kind} ×${n(d.count)}${at ? ` at ${at}` : ''}${d.examples[0] ? ` — ${d.examples[0].message}` : ''}`,
      );
    }
    for (const i of r.issues) {
      const at = i.examples
        .map(
          (e) =>
            `${e.line}:${e.column}${e.value !== undefined ? ` ${e.attribute}="${e.value}"` : ` (${e.attribute})`}`,
        )
        .join(', ');
      out.push(`  ${t.yellow('warning')}  ${i.kind} ×${n(i.count)} at ${at}`);
    }
  }

  out.push('');
  out.push(
    `Parsed ${formatBytes(r.bytes)} in ${(r.durationMs / 1000).toFixed(1)} s${r.throughputMiBps !== null ? ` (${r.throughputMiBps} MiB/s${r.reader && r.reader.threads > 1 ? `, ${r.reader.threads} threads` : ''})` : ''}`,
  );
  out.push(
    `Verdict: ${r.verdict === 'valid' ? t.green('valid') : r.verdict === 'warnings' ? t.yellow('valid with warnings') : t.red('invalid')}`,
  );
  for (const w of r.warnings) out.push(`  - ${w}`);
  for (const w of r.reasons) out.push(`  - ${w}`);
  return out;
}

/** The outcome first: what the backend will import, skip and why, what apple-import repairs, and whether the import fails. */
function headline(r: ValidationReport): string[] {
  const w = r.willImport;
  const skips = Object.entries(r.willSkip.byReason)
    .map(([reason, s]) => `${n(s.total)} ${reason.replace(/-/g, ' ')}`)
    .join(', ');
  const out = [
    `The backend will import ${n(w.records)} records, ${n(w.workouts)} workouts, ${n(w.sleep)} sleep samples; ` +
      `it will skip ${n(r.willSkip.total)}${skips ? ` (${skips})` : ''}; apple-import will repair ${n(r.willRepair.total)} defects.`,
  ];
  for (const f of r.importFails)
    out.push(
      f.reason === 'nothing-to-import'
        ? `${f.message[0]!.toUpperCase()}${f.message.slice(1)}.`
        : `The backend's import would fail: ${f.message}.`,
    );
  return out;
}

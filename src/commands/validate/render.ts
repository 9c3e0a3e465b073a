import stringWidth from 'string-width';
import type { ValidationReport } from '../../core/validate/report.js';
import type { Factory } from '../../factory.js';
import { formatBytes } from '../../io/progress.js';
import { count, grouped, noun } from '../../io/text.js';

const n = grouped;

const BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar of `value / max` over `width` cells with eighth-block precision. */
export function bar(value: number, max: number, width: number): string {
  if (max <= 0 || value <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + BLOCKS[eighths % 8];
}

/** Rows of a table before "… and N more (see --json)". */
const TOP = 15;
/** Past this many months, the chart has a bar per year. */
const MONTHLY_UP_TO = 36;

/**
 * The human report (stdout), its answer first: the headline (what the backend will import, skip and
 * repair) and the verdict, then the facts of the export, one table of record types, the sources grouped
 * by name, the records over time, and the defects. Long lists keep their top 15; --json has everything.
 * On a terminal every line is cut to its width.
 */
export function renderReport(r: ValidationReport, f: Factory): string[] {
  const t = f.out.dataTheme;
  const answer = renderHeadline(r, f);
  for (const w of [...r.reasons, ...r.warnings]) answer.push(`  - ${w}`);
  const out: string[] = [];
  const head = (s: string) => out.push('', t.bold(s));

  out.push('', t.bold(`Apple Health export: ${r.input?.path ?? ''}`));
  const facts = [
    r.input?.entryName ? `entry ${r.input.entryName}` : '',
    r.exportVersion === null ? 'export version unknown' : `export version ${r.exportVersion}`,
    r.locale ?? 'locale unknown',
    r.exportDate ? `exported ${r.exportDate}` : '',
  ].filter(Boolean);
  out.push(`  ${facts.join(' · ')}`);
  if (r.records.firstStartDate)
    out.push(`  samples from ${r.records.firstStartDate} to ${r.records.lastStartDate ?? '?'}`);
  if (r.filter) out.push(`  filter: ${describeFilter(r)}`);

  head(`Records by type (${n(r.records.total)})`);
  out.push(...typeTable(r));

  if (r.workouts.total > 0) {
    head(`Workouts (${n(r.workouts.total)})`);
    const activities = Object.entries(r.workouts.byActivityType);
    const w = Math.max(0, ...activities.map(([k]) => shortType(k).length));
    out.push(...top(activities, ([k, v]) => `  ${shortType(k).padEnd(w)}  ${n(v)}`));
  }

  head('Sources');
  out.push(...sourceLines(r));

  const chart = overTime(r.records.perMonth);
  if (chart.rows.length > 0) {
    head(`Records per ${chart.unit}`);
    const max = Math.max(...chart.rows.map(([, v]) => v));
    const width = Math.max(10, Math.min(50, f.io.columns - 30));
    for (const [m, v] of chart.rows) out.push(`  ${m} ${t.cyan(bar(v, max, width).padEnd(width))} ${n(v)}`);
  }

  const elements = Object.entries(r.ignored.elements).sort((a, b) => b[1] - a[1]);
  if (elements.length > 0) {
    const total = elements.reduce((sum, [, v]) => sum + v, 0);
    head(`Elements the backend does not read (${n(total)})`);
    out.push(`  ${elements.map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  }

  head('Duplicates');
  out.push(
    `  ${n(r.duplicates.exact)} exact ${noun(r.duplicates.exact, 'duplicate')}${r.duplicates.saturated ? ' (tracking capped; more may exist)' : ''}; ` +
      `${n(r.correlations.copies)} top-level ${noun(r.correlations.copies, 'record')} repeating a Correlation member (expected in Apple exports)`,
  );
  const same = r.duplicates.sameKey;
  if (same > 0)
    out.push(
      `  ${n(same)} ${noun(same, 'record')} ${same === 1 ? 'has' : 'have'} the series, device model and start time of an earlier one (exact duplicates included): ` +
        'the backend stores one row per such key, so the records it will import count each key once',
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
  // On a terminal the answer is wrapped at its words and the rest cut to the width; a file keeps all.
  if (!f.io.stdoutIsTTY) return [...answer, ...out];
  return [...answer.flatMap((l) => wrap(l, f.io.columns)), ...out.map((l) => cut(l, f.io.columns))];
}

/** `-q`: the headline and the verdict only (wrapped to a terminal's width). */
export function renderHeadline(r: ValidationReport, f: Factory): string[] {
  const lines = [...headline(r), verdictLine(r, f)];
  return f.io.stdoutIsTTY ? lines.flatMap((l) => wrap(l, f.io.columns)) : lines;
}

const SGR = /\u001b\[[0-9;]*m/g;

/** Pads to `width` terminal cells (an emoji or a CJK character takes two). */
function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - stringWidth(text)));
}

/** A line cut to the width; an over-long line loses its colours, which cannot be cut through. */
function cut(line: string, columns: number): string {
  if (stringWidth(line) <= columns) return line;
  let kept = '';
  for (const ch of line.replace(SGR, '')) {
    if (stringWidth(`${kept}${ch}`) > columns - 1) break;
    kept += ch;
  }
  return `${kept}…`;
}

/** A line broken at spaces into lines of at most `columns` (a word longer than that is cut). */
function wrap(line: string, columns: number): string[] {
  if (stringWidth(line) <= columns) return [line];
  const indent = /^ */.exec(line)?.[0] ?? '';
  const lines: string[] = [];
  let current = '';
  for (const word of line.replace(SGR, '').trim().split(' ')) {
    const next = current ? `${current} ${word}` : `${indent}${word}`;
    if (stringWidth(next) > columns && current) {
      lines.push(current);
      current = `${indent}  ${word}`;
    } else current = next;
  }
  if (current) lines.push(current);
  return lines.map((l) => cut(l, columns));
}

function verdictLine(r: ValidationReport, f: Factory): string {
  const t = f.out.dataTheme;
  const verdict =
    r.verdict === 'valid'
      ? t.green('valid')
      : r.verdict === 'warnings'
        ? t.yellow(`valid with ${n(r.warnings.length)} ${noun(r.warnings.length, 'warning')}`)
        : t.red('invalid');
  return `Verdict: ${verdict}`;
}

/** `HKQuantityTypeIdentifierHeartRate` → `HeartRate`: the prefixes say nothing a reader needs. */
export function shortType(type: string): string {
  return (
    type.replace(
      /^HK(?:Quantity|Category|Correlation|Data)?Type(?:Identifier)?|^HKWorkoutActivityType/,
      '',
    ) || type
  );
}

/** The first TOP rows, sorted by count, then how many more there are. */
function top(rows: [string, number][], line: (row: [string, number]) => string): string[] {
  const sorted = [...rows].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const lines = sorted.slice(0, TOP).map(line);
  if (sorted.length > TOP) lines.push(`  … and ${sorted.length - TOP} more (see --json)`);
  return lines;
}

/** type | records | first | last | imported?, from the backend-import model's skips by reason and type. */
function typeTable(r: ValidationReport): string[] {
  const skipped = new Map<string, { count: number; reasons: string[] }>();
  for (const [reason, s] of Object.entries(r.willSkip.byReason)) {
    for (const [type, count] of Object.entries(s.byType)) {
      const e = skipped.get(type) ?? { count: 0, reasons: [] };
      e.count += count;
      e.reasons.push(reason.replace(/-/g, ' '));
      skipped.set(type, e);
    }
  }
  const imported = (type: string, records: number): string => {
    const s = skipped.get(type);
    if (!s) return 'yes';
    if (s.reasons.includes('unmapped type') || s.count >= records) return `no (${s.reasons.join(', ')})`;
    return `partly: ${n(s.count)} skipped (${s.reasons.join(', ')})`;
  };
  const rows = Object.entries(r.records.byType);
  const w = Math.max(4, ...rows.map(([k]) => shortType(k).length));
  const cw = Math.max(7, ...rows.map(([, v]) => n(v).length));
  // The day of the first and last startDate (the time is in --json); a type without one shows a dash.
  const day = (date: string | undefined): string => (date ?? '–').slice(0, 10).padEnd(10);
  const dates = (type: string) => {
    const d = r.records.datesByType[type];
    return `${day(d?.first)}  ${day(d?.last)}`;
  };
  return [
    `  ${'type'.padEnd(w)}  ${'records'.padStart(cw)}  ${'first'.padEnd(10)}  ${'last'.padEnd(10)}  imported?`,
    ...top(
      rows,
      ([k, v]) => `  ${shortType(k).padEnd(w)}  ${n(v).padStart(cw)}  ${dates(k)}  ${imported(k, v)}`,
    ),
  ];
}

/** The OS a device string's software version belongs to. */
function osOf(device: string): string | undefined {
  const software = /software:([\d.]+)/.exec(device)?.[1];
  if (!software) return undefined;
  const model = /model:([^,]+)/.exec(device)?.[1] ?? '';
  const os = /Watch/.test(model)
    ? 'watchOS'
    : /iPad/.test(model)
      ? 'iPadOS'
      : /iPhone/.test(model)
        ? 'iOS'
        : '';
  return `${os}${os ? ' ' : ''}${software}`;
}

const byVersion = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** One line per source name: its records and workouts over every device, and the software versions seen. */
function sourceLines(r: ValidationReport): string[] {
  const groups = new Map<string, { records: number; workouts: number; versions: Set<string> }>();
  for (const s of r.sources) {
    const g = groups.get(s.sourceName) ?? { records: 0, workouts: 0, versions: new Set<string>() };
    g.records += s.records;
    g.workouts += s.workouts;
    const os = osOf(s.device);
    if (os) g.versions.add(os);
    groups.set(s.sourceName, g);
  }
  const rows = [...groups.entries()].sort((a, b) => b[1].records - a[1].records);
  const w = Math.max(0, ...rows.slice(0, TOP).map(([name]) => stringWidth(name)));
  const lines = rows.slice(0, TOP).map(([name, g]) => {
    const versions = [...g.versions].sort(byVersion);
    const span =
      versions.length === 0
        ? ''
        : versions.length === 1
          ? versions[0]
          : `${versions[0]}–${versions.at(-1)!.replace(/^\D+ /, '')}`;
    const what = [
      `${n(g.records)} ${noun(g.records, 'record')}`,
      g.workouts ? `${n(g.workouts)} ${noun(g.workouts, 'workout')}` : '',
      span ?? '',
    ].filter(Boolean);
    return `  ${pad(name, w)}  ${what.join(', ')}`;
  });
  if (rows.length > TOP) lines.push(`  … and ${rows.length - TOP} more (see --json)`);
  return lines;
}

/** Months as they are, or years once there are more than MONTHLY_UP_TO months. */
function overTime(perMonth: Record<string, number>): { unit: string; rows: [string, number][] } {
  const months = Object.entries(perMonth).sort((a, b) => a[0].localeCompare(b[0]));
  if (months.length <= MONTHLY_UP_TO) return { unit: 'month', rows: months };
  const years = new Map<string, number>();
  for (const [m, v] of months) years.set(m.slice(0, 4), (years.get(m.slice(0, 4)) ?? 0) + v);
  return { unit: 'year', rows: [...years.entries()] };
}

function describeFilter(r: ValidationReport): string {
  const fl = r.filter!;
  const parts = [
    fl.since && `since ${fl.since}`,
    fl.until && `until ${fl.until}`,
    fl.types && `types ${fl.types.join(',')}`,
    fl.excludeTypes && `not ${fl.excludeTypes.join(',')}`,
  ].filter(Boolean);
  return `${parts.join(', ')} (${n(fl.excluded)} excluded)`;
}

function side(w: ValidationReport['workoutCollisions'][number]['first']): string {
  return `${w.activity.replace(/^HKWorkoutActivityType/, '')} from ${w.sourceName}${w.line ? ` (line ${w.line})` : ''}`;
}

/** The outcome first: what the backend will import, skip and why, what apple-import repairs, and whether the import fails. */
function headline(r: ValidationReport): string[] {
  const w = r.willImport;
  const skips = Object.entries(r.willSkip.byReason)
    .map(([reason, s]) => `${n(s.total)} ${reason.replace(/-/g, ' ')}`)
    .join(', ');
  const out = [
    `The backend will import ${count(w.records, 'record')}, ${count(w.workouts, 'workout')}, ${count(w.sleep, 'sleep sample')}; ` +
      `it will skip ${n(r.willSkip.total)}${skips ? ` (${skips})` : ''}; apple-import will repair ${count(r.willRepair.total, 'defect')}.`,
  ];
  for (const c of r.importFails.length === 0 ? r.workoutCollisions : [])
    out.push(
      `  apple-import leaves out ${side(c.again)}: it has the start and end of ${side(c.first)} (${c.first.startDate}), which the backend cannot store twice.`,
    );
  for (const f of r.importFails)
    out.push(
      f.reason === 'nothing-to-import'
        ? `${f.message[0]!.toUpperCase()}${f.message.slice(1)}.`
        : `The backend's import would fail: ${f.message}.`,
    );
  return out;
}

/**
 * Reads a `<!DOCTYPE …>` declaration and its internal subset without interpreting it (format §1.3:
 * never validate against, or expand anything from, the embedded DTD), and names the defects of
 * format §2.1: an ATTLIST left open when the next `<!ELEMENT` starts, a declaration missing its `>`
 * before `]`, a stray `>` in the subset, entity declarations and external references.
 */
import type { DefectKind } from './types.js';

/** Apple's subset is ~10 KB; anything past this is not a Health export and is refused. */
export const MAX_DOCTYPE_BYTES = 1024 * 1024;

export interface DoctypeIssue {
  kind: DefectKind;
  message: string;
  /** Index in the buffer handed to parseDoctype. */
  index: number;
}

export interface ParsedDoctype {
  /** Index just past the closing '>'. */
  end: number;
  name: string;
  externalId: string | null;
  hasInternalSubset: boolean;
  exportVersion: number | null;
  issues: DoctypeIssue[];
}

/** `null` means the declaration continues past `len`: call again with more bytes. */
export type DoctypeResult = ParsedDoctype | null;

const VERSION_RE = /HealthKit Export Version:\s*(\d+)/;

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function startsWith(buf: Buffer, at: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (buf[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

function readName(buf: Buffer, p: number, len: number): number {
  while (p < len) {
    const c = buf[p]!;
    if (isSpace(c) || c === 0x3e || c === 0x5b || c === 0x22 || c === 0x27 || c === 0x5d || c === 0x3c) break;
    p++;
  }
  return p;
}

/**
 * Parses the declaration starting at `start` ('<!DOCTYPE'). Returns null when more bytes are needed
 * and `final` is false; at EOF an unterminated declaration throws a RangeError (the scanner reports
 * it as truncation).
 */
export function parseDoctype(buf: Buffer, start: number, len: number, final: boolean): DoctypeResult {
  const issues: DoctypeIssue[] = [];
  let exportVersion: number | null = null;
  const more = (): null => {
    if (final) throw new RangeError('end of input inside the DOCTYPE declaration');
    return null;
  };
  let p = start + 9;
  if (p >= len) return more();
  if (!isSpace(buf[p])) issues.push({ kind: 'dtd-malformed', message: 'no space after <!DOCTYPE', index: p });
  while (p < len && isSpace(buf[p])) p++;
  const nameEnd = readName(buf, p, len);
  if (nameEnd >= len) return more();
  const name = buf.toString('utf8', p, nameEnd);
  if (name.length === 0)
    issues.push({ kind: 'dtd-malformed', message: 'DOCTYPE without a root name', index: p });
  p = nameEnd;
  while (p < len && isSpace(buf[p])) p++;
  let externalId: string | null = null;
  if (startsWith(buf, p, 'SYSTEM') || startsWith(buf, p, 'PUBLIC')) {
    const at = p;
    const literals = startsWith(buf, p, 'PUBLIC') ? 2 : 1;
    p += 6;
    for (let n = 0; n < literals; n++) {
      while (p < len && isSpace(buf[p])) p++;
      if (p >= len) return more();
      const q = buf[p]!;
      if (q !== 0x22 && q !== 0x27) {
        issues.push({
          kind: 'dtd-malformed',
          message: 'external identifier without a quoted literal',
          index: p,
        });
        break;
      }
      const close = buf.indexOf(q, p + 1);
      if (close === -1 || close >= len) return more();
      p = close + 1;
    }
    externalId = buf.toString('utf8', at, p);
    issues.push({
      kind: 'dtd-external-reference',
      message: `DOCTYPE refers to an external DTD (${externalId}); it is never fetched`,
      index: at,
    });
    while (p < len && isSpace(buf[p])) p++;
  }
  let hasInternalSubset = false;
  if (p >= len) return more();
  if (buf[p] === 0x5b /* [ */) {
    hasInternalSubset = true;
    p++;
    for (;;) {
      while (p < len && isSpace(buf[p])) p++;
      if (p - start > MAX_DOCTYPE_BYTES)
        throw new RangeError(`DOCTYPE longer than ${MAX_DOCTYPE_BYTES} bytes`);
      if (p >= len) return more();
      const c = buf[p]!;
      if (c === 0x5d /* ] */) {
        p++;
        break;
      }
      if (c === 0x3c /* < */) {
        if (startsWith(buf, p, '<!--')) {
          const close = buf.indexOf('-->', p + 4);
          if (close === -1 || close + 3 > len) return more();
          const m = VERSION_RE.exec(buf.toString('utf8', p + 4, close));
          if (m && exportVersion === null) exportVersion = Number(m[1]);
          p = close + 3;
          continue;
        }
        if (buf[p + 1] === 0x3f /* ? */) {
          const close = buf.indexOf('?>', p + 2);
          if (close === -1 || close + 2 > len) return more();
          p = close + 2;
          continue;
        }
        const r = readDeclaration(buf, p, len, issues);
        if (r === -1) return more();
        p = r;
        continue;
      }
      if (c === 0x3e /* > */) {
        issues.push({ kind: 'dtd-extra-gt', message: 'stray ">" in the internal subset', index: p });
        p++;
        continue;
      }
      if (c === 0x25 /* % */) {
        issues.push({
          kind: 'dtd-entity-declared',
          message: 'parameter-entity reference in the internal subset (never expanded)',
          index: p,
        });
        const semi = buf.indexOf(0x3b, p);
        if (semi === -1 || semi >= len) return more();
        p = semi + 1;
        continue;
      }
      issues.push({
        kind: 'dtd-malformed',
        message: `unexpected "${String.fromCharCode(c)}" in the internal subset`,
        index: p,
      });
      // Resynchronise at the next markup or the end of the subset.
      while (p < len && buf[p] !== 0x3c && buf[p] !== 0x5d) p++;
    }
    while (p < len && isSpace(buf[p])) p++;
  }
  if (p >= len) return more();
  if (buf[p] !== 0x3e) {
    issues.push({ kind: 'dtd-malformed', message: 'DOCTYPE not closed by ">"', index: p });
    const gt = buf.indexOf(0x3e, p);
    if (gt === -1 || gt >= len) return more();
    p = gt;
  }
  return { end: p + 1, name, externalId, hasInternalSubset, exportVersion, issues };
}

const KEYWORDS = ['ELEMENT', 'ATTLIST', 'ENTITY', 'NOTATION'] as const;

/** Reads one `<!KEYWORD …>` markup declaration; returns the index after it, or -1 for more bytes. */
function readDeclaration(buf: Buffer, p: number, len: number, issues: DoctypeIssue[]): number {
  const at = p;
  if (buf[p + 1] !== 0x21 /* ! */) {
    if (p + 1 >= len) return -1;
    issues.push({
      kind: 'dtd-malformed',
      message: 'markup in the internal subset that is not a declaration',
      index: p,
    });
  }
  const kwEnd = readName(buf, p + 2, len);
  if (kwEnd >= len) return -1;
  const keyword = buf.latin1Slice(p + 2, kwEnd);
  const known = (KEYWORDS as readonly string[]).includes(keyword);
  if (!known)
    issues.push({ kind: 'dtd-malformed', message: `unknown declaration "<!${keyword}"`, index: at });
  p = kwEnd;
  for (;;) {
    if (p >= len) return -1;
    const c = buf[p]!;
    if (c === 0x22 || c === 0x27) {
      const close = buf.indexOf(c, p + 1);
      if (close === -1 || close >= len) return -1;
      p = close + 1;
      continue;
    }
    if (c === 0x3e) {
      p++;
      break;
    }
    if (c === 0x3c) {
      // The next declaration began before this one closed: the iOS 16 VisionPrescription defect.
      // Reported where expat fails: at the next declaration's '<' (format §2.1, "line 156, column 0").
      const what = `<!${keyword}${declaredName(buf, kwEnd, p)}`;
      issues.push(
        keyword === 'ATTLIST'
          ? {
              kind: 'dtd-unclosed-attlist',
              message: `${what} not closed before the next declaration`,
              index: p,
            }
          : { kind: 'dtd-malformed', message: `${what} not closed before the next declaration`, index: p },
      );
      return p;
    }
    if (c === 0x5d) {
      issues.push({
        kind: 'dtd-missing-gt',
        message: `<!${keyword}${declaredName(buf, kwEnd, p)} missing its ">" before "]"`,
        index: p,
      });
      return p;
    }
    p++;
  }
  if (keyword === 'ENTITY') {
    const text = buf.toString('utf8', at, p);
    issues.push({
      kind: 'dtd-entity-declared',
      message: 'entity declared in the DTD (never expanded)',
      index: at,
    });
    if (/\s(SYSTEM|PUBLIC)\s/.test(text)) {
      issues.push({
        kind: 'dtd-external-reference',
        message: 'external entity declared (never fetched)',
        index: at,
      });
    }
  }
  return p;
}

/** " Name" of the declaration whose keyword ends at `from`, for messages. */
function declaredName(buf: Buffer, from: number, to: number): string {
  let a = from;
  while (a < to && isSpace(buf[a])) a++;
  const b = readName(buf, a, to);
  return b > a ? ` ${buf.toString('utf8', a, b)}` : '';
}

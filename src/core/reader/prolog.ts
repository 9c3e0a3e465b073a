/**
 * The markup of the prolog and `<! … >`, `<? … ?>` anywhere: comments, CDATA sections, the DOCTYPE
 * (read by doctype.ts) and processing instructions with the XML declaration. Each reader takes the
 * buffer and the markup's start and returns where it ends, or NEED_MORE; errors are ScanFailures.
 * Where each may appear (the scanner's phase) is the scanner's to judge.
 */
import { parseDoctype } from './doctype.js';
import { NEED_MORE, ScanFailure } from './scanner-layout.js';
import type { XmlDeclaration } from './types.js';

/** What the `<!` at s starts, once enough bytes are there to tell (null: wait for more). */
export function bangKind(
  buf: Buffer,
  s: number,
  len: number,
  final: boolean,
): 'comment' | 'cdata' | 'doctype' | null {
  if (len - s < 4 && !final) return null;
  if (buf[s + 2] === 0x2d && buf[s + 3] === 0x2d) return 'comment';
  if (len - s < 9 && !final) return null;
  if (len - s >= 9) {
    const head = buf.latin1Slice(s, s + 9);
    if (head === '<![CDATA[') return 'cdata';
    if (head === '<!DOCTYPE') return 'doctype';
  }
  throw new ScanFailure(s, 'invalid markup starting with "<!"');
}

/** Index past the comment at s, or NEED_MORE. */
export function commentEnd(buf: Buffer, s: number, len: number): number {
  const dd = buf.indexOf('--', s + 4);
  if (dd === -1 || dd + 2 >= len) return NEED_MORE;
  if (buf[dd + 2] !== 0x3e) throw new ScanFailure(dd, '"--" inside a comment');
  return dd + 3;
}

/** Index past the CDATA section at s, or NEED_MORE. */
export function cdataEnd(buf: Buffer, s: number): number {
  const close = buf.indexOf(']]>', s + 9);
  return close === -1 ? NEED_MORE : close + 3;
}

/** The DOCTYPE at s (doctype.ts), or null to wait for more; a malformed one is a ScanFailure. */
export function doctypeAt(
  buf: Buffer,
  s: number,
  len: number,
  final: boolean,
): ReturnType<typeof parseDoctype> {
  try {
    return parseDoctype(buf, s, len, final);
  } catch (e) {
    if (e instanceof RangeError) {
      const truncated = e.message.startsWith('end of input');
      throw new ScanFailure(s, e.message, truncated ? 'truncated' : 'dtd-malformed');
    }
    throw e;
  }
}

/**
 * The processing instruction at s whose target ends at `targetEnd`: its end (or NEED_MORE) and, for
 * the XML declaration, what it declares. `declarationAt` is where the declaration may stand (0, or 3
 * after a BOM); `at` is s's absolute offset.
 */
export function processingInstruction(
  buf: Buffer,
  s: number,
  close: number,
  targetEnd: number,
  at: number,
  declarationAt: number,
): XmlDeclaration | null {
  const target = buf.latin1Slice(s + 2, targetEnd);
  if (target.length === 0) throw new ScanFailure(s, 'processing instruction without a target');
  const c = buf[targetEnd];
  if (targetEnd < close && c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d)
    throw new ScanFailure(targetEnd, 'invalid processing instruction');
  if (target.toLowerCase() !== 'xml') return null;
  if (target !== 'xml' || at !== declarationAt) {
    throw new ScanFailure(s, 'XML declaration not at the start of the document');
  }
  return parseDeclaration(buf.latin1Slice(targetEnd, close), s);
}

function parseDeclaration(body: string, s: number): XmlDeclaration {
  const get = (name: string): string | null => {
    const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(body);
    return m ? (m[1] ?? m[2] ?? null) : null;
  };
  const decl: XmlDeclaration = {
    version: get('version'),
    encoding: get('encoding'),
    standalone: get('standalone'),
  };
  if (decl.version === null) throw new ScanFailure(s, 'XML declaration without a version');
  if (decl.encoding !== null && !/^(utf-?8|us-ascii)$/i.test(decl.encoding)) {
    throw new ScanFailure(s, `unsupported encoding "${decl.encoding}" (exports are UTF-8)`);
  }
  return decl;
}

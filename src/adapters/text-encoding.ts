/**
 * The encodings an export may be stored in, and the streaming UTF-16 → UTF-8 transcoder that lets every
 * consumer (the scanner, the S3 body, the direct batches) see UTF-8 only.
 *
 * The backend's parser (expat, through ElementTree) reads UTF-16 with a byte-order mark, and, as expat
 * does, UTF-16 without one when the first character is ASCII (a 0 byte before or after it). Such a file
 * is sent as UTF-8, so its XML declaration must say so: `encoding="UTF-16"` becomes `encoding="UTF-8"`
 * (an export without the attribute is UTF-8 by default and keeps none). The BOM is dropped.
 */
import { AppError } from '../errors.js';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/** The encoding of a document from its first bytes, and how many of them are a byte-order mark. */
export function detectEncoding(head: Buffer): { encoding: TextEncoding; bom: number } {
  if (head.length >= 2) {
    if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bom: 2 };
    if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bom: 2 };
    // No BOM: expat's rule — a 0 byte first is big-endian, a 0 byte second little-endian.
    if (head[0] === 0 && head[1] !== 0) return { encoding: 'utf-16be', bom: 0 };
    if (head[0] !== 0 && head[1] === 0) return { encoding: 'utf-16le', bom: 0 };
  }
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf)
    return { encoding: 'utf-8', bom: 3 };
  return { encoding: 'utf-8', bom: 0 };
}

/** The first bytes as text, for sniffing only (a partial last character becomes U+FFFD). */
export function decodeHead(head: Buffer, encoding: TextEncoding): string {
  if (encoding === 'utf-8') return head.toString('utf8').replace(/^\uFEFF/, '');
  const even = head.subarray(0, head.length & ~1);
  const le = encoding === 'utf-16le' ? even : swapped(even);
  return le.toString('utf16le').replace(/^\uFEFF/, '');
}

function swapped(buf: Buffer): Buffer {
  const copy = Buffer.from(buf);
  copy.swap16();
  return copy;
}

/** The declaration's encoding pseudo-attribute, with its quotes. */
const ENCODING_ATTR = /(\sencoding\s*=\s*)(["'])[^"']*\2/;
/** The longest XML declaration we wait for before passing the head on as it is. */
const MAX_DECLARATION_CHARS = 4096;

interface WellFormed {
  isWellFormed(): boolean;
}

/**
 * UTF-16 in, UTF-8 out, one chunk at a time, in constant memory: a chunk that ends inside a code unit
 * or between the two halves of a surrogate pair carries those bytes to the next. A lone surrogate (which
 * expat refuses too) or a file that ends inside a character is INPUT_INVALID with its byte offset.
 *
 * push() returns text rather than bytes so a counting pass can measure it (Buffer.byteLength) without
 * encoding it.
 */
export class Utf16ToUtf8 {
  private carry: Buffer | undefined;
  /** The document's start, held until the XML declaration is complete; undefined once it is passed on. */
  private head: string | undefined;
  /** Bytes of UTF-16 taken in so far, carried ones included. */
  inputBytes: number;

  /**
   * `resumeAt` starts mid-document at a checkpoint (a byte offset where nothing was carried and the
   * head was already passed on).
   */
  constructor(
    readonly encoding: 'utf-16le' | 'utf-16be',
    private readonly name: string,
    resumeAt = 0,
  ) {
    this.inputBytes = resumeAt;
    this.head = resumeAt === 0 ? '' : undefined;
  }

  /** True when nothing is carried and the head has been passed on: transcoding may resume from here. */
  get atCheckpoint(): boolean {
    return this.carry === undefined && this.head === undefined;
  }

  push(chunk: Buffer): string {
    const at = this.inputBytes - (this.carry?.length ?? 0);
    this.inputBytes += chunk.length;
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    let n = buf.length & ~1;
    if (n >= 2 && this.isHighSurrogate(buf, n - 2)) n -= 2;
    this.carry = n < buf.length ? Buffer.from(buf.subarray(n)) : undefined;
    if (n === 0) return '';
    buf = buf.subarray(0, n);
    const text = (this.encoding === 'utf-16le' ? buf : swapped(buf)).toString('utf16le');
    if (!(text as unknown as WellFormed).isWellFormed()) this.loneSurrogate(text, at);
    return this.passHead(text);
  }

  /** What is left at the end of the input; throws if it ends inside a character. */
  end(): string {
    if (this.carry) {
      const at = this.inputBytes - this.carry.length;
      throw new AppError(
        'INPUT_INVALID',
        `${this.name}: the UTF-16 text ends inside a character (byte ${at} of ${this.inputBytes})`,
        { hint: 'The file is cut short or damaged; export again from the Health app.' },
      );
    }
    const rest = this.head ?? '';
    this.head = undefined;
    return rest;
  }

  private isHighSurrogate(buf: Buffer, i: number): boolean {
    const hi = this.encoding === 'utf-16le' ? buf[i + 1]! : buf[i]!;
    return hi >= 0xd8 && hi <= 0xdb;
  }

  private passHead(text: string): string {
    if (this.head === undefined) return text;
    let head = this.head + text;
    if (head.charCodeAt(0) === 0xfeff) head = head.slice(1);
    const done = (out: string): string => {
      this.head = undefined;
      return out;
    };
    if (!head.startsWith('<?xml')) {
      // Still possibly the start of a declaration: wait for more.
      if (head.length < 5 && '<?xml'.startsWith(head)) {
        this.head = head;
        return '';
      }
      return done(head);
    }
    const close = head.indexOf('?>');
    if (close < 0) {
      if (head.length < MAX_DECLARATION_CHARS) {
        this.head = head;
        return '';
      }
      return done(head);
    }
    const decl = head.slice(0, close + 2).replace(ENCODING_ATTR, '$1$2UTF-8$2');
    return done(decl + head.slice(close + 2));
  }

  private loneSurrogate(text: string, at: number): never {
    let i = 0;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          continue;
        }
        break;
      }
      if (c >= 0xdc00 && c <= 0xdfff) break;
    }
    const code = text.charCodeAt(i).toString(16).toUpperCase();
    throw new AppError(
      'INPUT_INVALID',
      `${this.name}: not valid UTF-16: a lone surrogate (U+${code}) at byte ${at + 2 * i}`,
      { hint: 'The backend refuses it too; the file is damaged — export again from the Health app.' },
    );
  }
}

/**
 * A purpose-built streaming scanner for Apple Health exports (format §2.6: a byte-stream parser with
 * bounded buffers). It is fed Buffers split anywhere and reports each direct child of the root as
 * one TopLevelElement, plus the prolog facts and every defect it finds (format §2.1, §2.2).
 *
 * Speed comes from three things. The buffer is also held as a latin1 string (one memcpy per chunk), so
 * string indices are byte offsets and a plain ASCII value becomes a substring for a few nanoseconds
 * instead of a native decode call. Each element name remembers its attribute layout, so Apple's
 * fixed attribute order is confirmed with one `startsWith` per attribute. And each layout slot
 * remembers its last value, so the long runs of equal `type`, `unit` and `sourceName` values (Apple
 * groups records by type) are confirmed without looking at their bytes one by one. Only an unfinished
 * piece of markup is carried from one chunk to the next.
 * Deliberate limits (documented in the report and tests):
 * - The internal DTD subset is read for defects but never interpreted; an entity it declares is an
 *   unknown entity when referenced (a well-formedness error, as in sax strict).
 * - The first well-formedness error stops interpretation (bytes are still counted and scanned for
 *   illegal characters), as an XML processor must.
 * - UTF-8 is validated only on request (ScannerOptions.utf8, always for a check-only scan); otherwise
 *   malformed sequences decode to U+FFFD in attribute values.
 * - Illegal C0 characters are reported and counted, and kept in decoded values; the repair drops them.
 */

import { type ContentCheck, type SpanRecord, STOP_CUT, STOP_FULL } from './content-check.js';
import { checkTextReferences, decodeReferences, EntityError } from './entities.js';
import { firstIllegal, isIllegalByte } from './illegal-bytes.js';
import { SCANNER_LIMITS, type ScannerLimits } from './limits.js';
import { threadNames } from './names.js';
import { LineTracker } from './position.js';
import { bangKind, cdataEnd, commentEnd, doctypeAt, processingInstruction } from './prolog.js';
import type { FragmentStart, ScannerHandlers, ScannerOptions, ScanResult } from './scanner.js';
import {
  AMP,
  type AttrSlot,
  FAILED,
  HI,
  isSpace,
  Layout,
  LT,
  MAX_LAYOUTS,
  NAME,
  NEED_MORE,
  NO_CHILDREN,
  QUOTE,
  ScanFailure,
  skipPlainWords,
  TAG_ENDED,
  VALUE_FLAGS,
  WS,
} from './scanner-layout.js';
import type {
  Defect,
  DefectKind,
  DoctypeSpan,
  ExportElement,
  TopLevelElement,
  XmlDeclaration,
} from './types.js';
import { Utf8Check } from './utf8.js';

enum Phase {
  Prolog = 0,
  Root = 1,
  Epilog = 2,
  Failed = 3,
}

/** What write() hands the parser at a time (see write); a check-only scan's pieces inside the root. */
export const PIECE_BYTES = 64 * 1024;
export const CHECK_PIECE_BYTES = 1024 * 1024;

/** A carried markup up to this long is finished on a bridge of the next piece's first BRIDGE_BYTES (see bridge). */
const MAX_BRIDGED = 4096;
const BRIDGE_BYTES = 8192;

/** Chunks carried while waiting for a long unfinished markup: rescan only once the data has doubled. */
const RESCAN_THRESHOLD = 64 * 1024;
/** Unfinished markup this long is not Apple's (its elements are a few KB): see the spill in run(). */
const LONG_MARKUP = 1024 * 1024;

const REPAIRABLE: Record<DefectKind, boolean> = {
  'dtd-unclosed-attlist': true,
  'dtd-missing-gt': true,
  'dtd-extra-gt': true,
  'dtd-malformed': true,
  'dtd-entity-declared': true,
  'dtd-external-reference': true,
  'illegal-character': true,
  truncated: false,
  'not-well-formed': false,
  'foreign-namespace': false,
};

/** Defect kinds that leave the document well-formed: hazards, and a root the backend cannot read into. */
const WELL_FORMED = new Set<DefectKind>([
  'dtd-entity-declared',
  'dtd-external-reference',
  'foreign-namespace',
]);

/** Buffers up to this size get a latin1 twin (the parser is fed 64 KiB pieces plus a carried tail; only a pathological element grows past it). */
const MAX_STRING_TWIN = 1024 * 1024;
/** The input's last bytes kept after a failure (see tail). */
const TAIL_BYTES = 256;

/** Streaming scanner: write() chunks, then end(), then read result(). */
export class ExportScanner {
  protected readonly handlers: ScannerHandlers;
  protected readonly limits: ScannerLimits;
  /** attributeHead's results: the attribute name's span and hash, the value's quote, or where the tag ended. */
  protected headName = 0;
  protected headNameEnd = 0;
  protected headHash = 0;
  protected headQuote = 0;
  /** valueEnd's summary of the value's special bytes. */
  protected valueFlags = 0;
  protected tagEnd = 0;
  protected selfClosed = false;
  /** startTagCheck's slotless attributes so far: [name hash, name start, name end] triples. */
  protected readonly seenAttrs: number[] = [];
  protected readonly lines: LineTracker;
  private readonly illegalLines: LineTracker;
  /** Absolute offset of the first byte fed (non-zero only for a fragment). */
  private readonly origin: number;
  protected readonly names = threadNames();
  private readonly layouts = new Map<string, Layout>();
  protected tagSerial = 0;
  protected nameHash = 0;

  protected buf: Buffer = Buffer.alloc(0);
  /** False while `buf` is (part of) the caller's chunk rather than a copy of our own. */
  private bufOwned = true;
  /** `buf` as a latin1 string: index i is byte i, so slicing it yields ASCII values without a decode. */
  private str = '';
  /** A DataView over `buf`, for ByteRun's word-wise comparisons. */
  protected view: DataView = new DataView(new ArrayBuffer(0));
  /** Absolute offset of buf[0]. */
  protected base = 0;
  private pos = 0;
  /**
   * While a long unfinished markup waits for more bytes: an owned buffer holding it (at the start)
   * and the bytes received since, filled in place; it is parsed again only once full, i.e. once the
   * data has doubled (or reached the element limit), so a long element costs linear time and about
   * three times its size in memory.
   */
  private spill: Buffer | null = null;
  private spillLen = 0;
  private phase: Phase = Phase.Prolog;
  private started = false;
  private ended = false;

  /** Open elements of the current top-level element (index 0 is the top-level one). */
  protected stack: ExportElement[] = [];
  private current: TopLevelElement | null = null;

  private total = 0;
  private bom = false;
  private xmlDeclaration: XmlDeclaration | null = null;
  private exportVersion: number | null = null;
  private rootName: string | null = null;
  private rootAttrs: Record<string, string> = {};
  private closed = false;
  private doctype: DoctypeSpan | null = null;
  private rootContentStart: number | null = null;
  private rootContentEnd: number | null = null;
  private topLevelCount = 0;
  private illegalCharCount = 0;
  private illegalCharsInDoctype = 0;
  private readonly defects: Defect[] = [];
  private readonly defectCounts: Partial<Record<DefectKind, number>> = {};
  private wellFormed = true;
  private repairable = true;
  /** Absolute offset of the first byte the UTF-8 check refused; the parse fails once it gets there. */
  private badEncodingAt = Number.POSITIVE_INFINITY;
  private badEncodingByte = 0;
  /** The compiled fast path over whole top-level elements (content-check.ts), for a check-only scan. */
  protected fast: ContentCheck | null = null;
  /** ScannerOptions.utf8's check, or null. */
  private readonly utf8: Utf8Check | null;

  constructor(
    handlers: ScannerHandlers = {},
    limits: Partial<ScannerLimits> = {},
    fragment?: FragmentStart,
    options: Pick<ScannerOptions, 'utf8'> = {},
  ) {
    this.handlers = handlers;
    this.utf8 = options.utf8 ? new Utf8Check() : null;
    this.limits = { ...SCANNER_LIMITS, ...limits };
    this.origin = fragment?.offset ?? 0;
    this.base = this.origin;
    this.lines = new LineTracker(this.origin);
    this.illegalLines = new LineTracker(this.origin);
    if (fragment) {
      this.started = true;
      this.phase = Phase.Root;
      this.rootName = 'HealthData';
    }
  }

  /**
   * Ends a fragment scan at the fragment's last byte instead of the document's: nothing is reported
   * as truncated. True when the fragment ended cleanly between two top-level elements, i.e. when the
   * next fragment's start guess was right; false means its results must not be used.
   */
  endFragment(): boolean {
    if (this.ended) throw new Error('endFragment after end');
    this.ended = true;
    const clean =
      this.phase === Phase.Root && this.current === null && this.spill === null && this.buf.length === 0;
    this.buf = Buffer.alloc(0);
    this.stack = [];
    this.current = null;
    return clean;
  }

  /**
   * Done with this scanner, its results and anything its consumer got from it (a TapeDigest): its
   * compiled fast path's instance goes back for the next scanner of this thread to reuse.
   */
  release(): void {
    this.fast?.release();
    this.fast = null;
  }

  /** Illegal characters counted so far (every byte written is searched, whatever the parse found). */
  illegalCharacters(): number {
    return this.illegalCharCount;
  }

  /** Line feeds counted so far: after a clean endFragment(), the next fragment's line shift. */
  lineFeeds(): number {
    return this.lines.line - 1;
  }

  /**
   * Feeds the next bytes of the source; elements and defects are reported synchronously. No reference
   * to `chunk` is kept once this returns, so the caller may read the next bytes into the same buffer.
   */
  write(chunk: Buffer): void {
    if (this.ended) throw new Error('write after end');
    if (chunk.length === 0) return;
    // The fast path's copy of the chunk serves its illegal-byte search and the parse of its pieces.
    const fast = this.fast?.load(chunk) ? this.fast : null;
    this.scanIllegal(chunk, this.origin + this.total, fast);
    if (this.utf8 !== null && this.badEncodingAt === Number.POSITIVE_INFINITY) {
      const bad = this.utf8.write(chunk, this.origin + this.total);
      if (bad !== -1) {
        this.badEncodingAt = bad;
        this.badEncodingByte = this.utf8.badByte;
      }
    }
    this.total += chunk.length;
    if (this.phase !== Phase.Failed) {
      // Pieces keep each buffer's latin1 twin small enough for V8's young generation: a 1 MiB string
      // would go to large-object space and live until the next full GC, hundreds of them at a time.
      const piece = this.pieceBytes();
      for (let at = 0; at < chunk.length && !this.failed(); at += piece)
        this.feed(at === 0 && chunk.length <= piece ? chunk : chunk.subarray(at, at + piece));
    }
    this.keepTail(chunk);
    // The caller may read its next bytes into the same buffer: the fast path must not take it for a loaded one.
    fast?.unload();
  }

  /**
   * The input's last bytes: after a failure, whether the root's end tag is there tells a document
   * that is broken inside but whole from one that is also cut short (see end).
   */
  private readonly tail = Buffer.alloc(TAIL_BYTES);
  private tailLength = 0;

  private keepTail(chunk: Buffer): void {
    const n = chunk.length;
    if (n >= TAIL_BYTES) {
      chunk.copy(this.tail, 0, n - TAIL_BYTES);
      this.tailLength = TAIL_BYTES;
      return;
    }
    const keep = Math.min(this.tailLength, TAIL_BYTES - n);
    this.tail.copy(this.tail, 0, this.tailLength - keep, this.tailLength);
    chunk.copy(this.tail, keep);
    this.tailLength = keep + n;
  }

  private endsWithRootClose(): boolean {
    const name = this.rootName ?? 'HealthData';
    const text = this.tail.latin1Slice(0, this.tailLength).replace(/[ \t\r\n]+$/, '');
    return new RegExp(`</${name.replace(/[^\w:.-]/g, '')}[ \t\r\n]*>$`).test(text);
  }

  /** A method, not an inline test, so TypeScript does not narrow `phase` across feed(). */
  private failed(): boolean {
    return this.phase === Phase.Failed;
  }

  private feed(piece: Buffer): void {
    const spill = this.spill;
    if (spill !== null) {
      // A copy, not the piece: the caller may reuse its buffer once write() returns.
      const n = Math.min(piece.length, spill.length - this.spillLen);
      piece.copy(spill, this.spillLen, 0, n);
      this.spillLen += n;
      if (this.spillLen < spill.length) return;
      this.spill = null;
      this.buf = spill;
      this.bufOwned = true;
      this.run(false);
      if (n < piece.length && !this.failed()) this.feed(piece.subarray(n));
      return;
    }
    if (this.buf.length === 0) {
      this.buf = piece;
      this.bufOwned = false;
    } else if (this.buf.length <= MAX_BRIDGED && piece.length > 2 * BRIDGE_BYTES) {
      this.bridge(piece);
      return;
    } else {
      this.buf = Buffer.concat([this.buf, piece]);
      this.bufOwned = true;
    }
    this.run(false);
  }

  /**
   * Finishes the markup carried from the last piece on a copy of it joined with just the start of
   * `piece`, then parses the rest of `piece` in place: a few hundred bytes copied per piece instead
   * of the whole piece.
   */
  private bridge(piece: Buffer): void {
    const pieceStart = this.base + this.buf.length;
    this.buf = Buffer.concat([this.buf, piece.subarray(0, BRIDGE_BYTES)]);
    this.bufOwned = true;
    this.run(false);
    if (this.failed()) return;
    if (this.base >= pieceStart) {
      // What the bridge left unparsed is still in the piece: continue there.
      this.buf = piece.subarray(this.base - pieceStart);
      this.bufOwned = false;
    } else {
      // The carried markup is longer than the bridge: join it with the rest of the piece after all.
      this.buf = Buffer.concat([this.buf, piece.subarray(BRIDGE_BYTES)]);
    }
    this.run(false);
  }

  /** Signals end of input: reports truncation and closes the scan. */
  end(): void {
    if (this.ended) return;
    if (this.phase !== Phase.Failed) {
      if (this.spill !== null) {
        this.buf = this.spill.subarray(0, this.spillLen);
        this.spill = null;
      }
      this.run(true);
    }
    this.ended = true;
    if (this.phase === Phase.Prolog) {
      if (this.total === 0) this.defect('not-well-formed', 'the input is empty', 0);
      else this.defect('truncated', 'end of input before the root element', this.total);
    } else if (this.phase === Phase.Root) {
      const name = this.rootName ?? 'HealthData';
      this.defect(
        'truncated',
        `end of input before </${name}> (the export is truncated)`,
        this.origin + this.total,
      );
    } else if (
      this.phase === Phase.Failed &&
      this.rootName !== null &&
      !this.closed &&
      this.defectCounts.truncated === undefined &&
      !this.endsWithRootClose()
    ) {
      // Broken inside, and cut short too: both are said, the first error first.
      const name = this.rootName;
      const abs = this.origin + this.total;
      this.defect(
        'truncated',
        `end of input before </${name}> (the export is truncated)`,
        abs,
        this.illegalLines,
      );
    }
    this.phase = this.phase === Phase.Failed ? Phase.Failed : Phase.Epilog;
    this.buf = Buffer.alloc(0);
    this.stack = [];
    this.current = null;
  }

  /** The scan's findings so far (complete after end()). */
  result(): ScanResult {
    return {
      bytes: this.total,
      bom: this.bom,
      xmlDeclaration: this.xmlDeclaration,
      exportVersion: this.exportVersion,
      rootName: this.rootName,
      rootSeen: this.rootName === 'HealthData',
      locale: this.rootAttrs.locale ?? null,
      rootAttrs: this.rootAttrs,
      closed: this.closed,
      doctype: this.doctype,
      rootContentStart: this.rootContentStart,
      rootContentEnd: this.rootContentEnd,
      topLevelCount: this.topLevelCount,
      illegalCharCount: this.illegalCharCount,
      illegalCharsInDoctype: this.illegalCharsInDoctype,
      defects: this.defects,
      defectCounts: this.defectCounts,
      wellFormed: this.wellFormed,
      repairable: this.repairable,
    };
  }

  // ── defects ──────────────────────────────────────────────────────────────

  private defect(kind: DefectKind, message: string, abs: number, tracker: LineTracker = this.lines): void {
    if (tracker === this.lines && abs >= this.base && abs - this.base <= this.buf.length) {
      tracker.advance(this.buf, this.base, abs);
    }
    const d: Defect = {
      kind,
      message,
      line: tracker.line,
      column: tracker.column(abs),
      offset: abs,
      repairable: REPAIRABLE[kind],
    };
    this.defectCounts[kind] = (this.defectCounts[kind] ?? 0) + 1;
    if (!WELL_FORMED.has(kind)) this.wellFormed = false;
    if (!d.repairable) this.repairable = false;
    if (this.defects.length < this.limits.maxReportedDefects) this.defects.push(d);
    this.handlers.onDefect?.(d);
  }

  /** C0 controls other than tab/LF/CR can never appear in XML 1.0 (format §2.2), not even as &#x..;. */
  private scanIllegal(chunk: Buffer, at: number, fast: ContentCheck | null): void {
    const n = chunk.length;
    const max = this.limits.maxReportedIllegalChars;
    for (let from = 0; ; ) {
      const i = fast !== null ? fast.firstIllegal(from, n) : firstIllegal(chunk, from, n);
      // The line of each reported illegal character, and after the last, the chunk's end (and after a
      // failure, for where the input ends).
      if (this.illegalCharCount < max || this.phase === Phase.Failed) {
        const to = at + (i === -1 ? n : i);
        if (fast !== null)
          this.illegalLines.advanceCounted(to, fast.lineFeedsPassed(), at + fast.lastLineFeed());
        else this.illegalLines.advance(chunk, at, to);
      }
      if (i === -1) return;
      this.illegalCharCount++;
      if (this.illegalCharCount > max) {
        this.defectCounts['illegal-character'] = (this.defectCounts['illegal-character'] ?? 0) + 1;
      } else {
        const hex = chunk[i]!.toString(16).padStart(2, '0');
        this.defect('illegal-character', `illegal XML character U+00${hex}`, at + i, this.illegalLines);
      }
      from = i + 1;
    }
  }

  private fail(e: ScanFailure): number {
    this.defect(e.kind, e.message, this.base + e.index);
    this.phase = Phase.Failed;
    this.stack = [];
    this.current = null;
    return FAILED;
  }

  // ── driver loop ──────────────────────────────────────────────────────────

  private run(final: boolean): void {
    const buf = this.buf;
    const len = buf.length;
    // A carried buffer that grew huge (a hostile 100 MB value) is scanned without its string twin.
    this.str = len <= MAX_STRING_TWIN && this.wantsTwin() ? buf.latin1Slice(0, len) : '';
    this.view = new DataView(buf.buffer, buf.byteOffset, len);
    let pos = this.pos;
    if (!this.started) {
      if (len < 3 && !final && buf[0] === 0xef) return;
      this.started = true;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        this.bom = true;
        pos = 3;
      }
    }
    const fast = this.fast;
    fast?.reset();
    try {
      while (pos < len) {
        if (this.base + pos > this.badEncodingAt) this.refuseEncoding();
        if (fast !== null && this.phase === Phase.Root && this.stack.length === 0) {
          pos = this.fastContent(fast, pos, len);
          if (pos >= len) break;
          // A short element the next bytes will complete waits for them, for the fast path to read it whole.
          if (this.fastCut && !final) break;
        }
        if (buf[pos] !== 0x3c) {
          const next = this.text(pos, len, final);
          if (next === NEED_MORE) break;
          pos = next;
          continue;
        }
        if (pos + 1 >= len) {
          if (final) throw new ScanFailure(pos, 'end of input inside markup', 'truncated');
          break;
        }
        const c1 = buf[pos + 1];
        let next: number;
        if (c1 === 0x2f) next = this.endTag(pos, len);
        else if (c1 === 0x21) next = this.bang(pos, len, final);
        else if (c1 === 0x3f) next = this.pi(pos);
        else next = this.startTag(pos, len);
        if (next === NEED_MORE) {
          if (final) throw new ScanFailure(pos, 'end of input inside markup', 'truncated');
          this.checkSize(pos, len);
          break;
        }
        pos = next;
        if (
          this.current !== null &&
          this.base + pos - this.current.startOffset > this.limits.maxElementBytes
        ) {
          throw new ScanFailure(pos, this.tooBig());
        }
      }
      if (this.base + pos > this.badEncodingAt) this.refuseEncoding();
      if (this.current !== null) this.checkSize(pos, len);
    } catch (e) {
      if (e instanceof ScanFailure) {
        this.fail(e);
        return;
      }
      throw e;
    }
    this.str = '';
    this.advanceLines(fast, buf, this.base + pos);
    if (pos >= len) {
      this.base += len;
      this.buf = Buffer.alloc(0);
    } else {
      this.base += pos;
      const rest = len - pos;
      if (rest > RESCAN_THRESHOLD) {
        // Long unfinished markup: wait until the data has doubled (see spill). Past a size only a
        // hostile element reaches, one spill as large as the limit allows, not a doubling series of
        // copies whose garbage the heap keeps for a while.
        const most = this.limits.maxElementBytes + PIECE_BYTES;
        const spill = Buffer.allocUnsafe(rest > LONG_MARKUP ? most : Math.min(2 * rest, most));
        buf.copy(spill, 0, pos, len);
        this.spill = spill;
        this.spillLen = rest;
        this.buf = spill.subarray(0, rest);
      } else {
        // An unfinished piece of markup outlives write(): copy it out of the caller's buffer.
        this.buf = this.bufOwned ? buf.subarray(pos) : Buffer.from(buf.subarray(pos));
      }
      this.bufOwned = true;
    }
    this.pos = 0;
  }

  /** lines.advance() to `abs` over `buf`, with the fast path counting the LFs when there is one. */
  protected advanceLines(fast: ContentCheck | null, buf: Buffer, abs: number): void {
    const from = this.lines.countedTo();
    if (fast !== null && abs > from && from >= this.base) {
      const feeds = fast.lineFeeds(buf, from - this.base, abs - this.base);
      if (feeds >= 0) {
        this.lines.advanceCounted(abs, feeds, this.base + fast.lastLineFeed());
        return;
      }
    }
    this.lines.advance(buf, this.base, abs);
  }

  /**
   * Lets the fast path pass over what it can from `pos`, between top-level elements inside the root,
   * and returns where the parse goes on. It stops short of a byte the UTF-8 check refused, so that the
   * parse reaches that byte and refuses it in document order, as it would have alone.
   */
  private fastContent(fast: ContentCheck, pos: number, len: number): number {
    const bad = this.badEncodingAt - this.base;
    const end = Math.min(bad, len);
    this.fastCut = false;
    if (end <= pos) return pos;
    for (let from = pos; ; ) {
      const next = fast.scan(this.buf, from, end, this.limits.maxDepth, this.limits.maxElementBytes);
      const n = fast.elements();
      this.topLevelCount += n;
      if (n > 0) this.accepted(fast, n);
      const stop = fast.stopReason();
      // Out of room to record: record the rest on another scan, unless not even one element fitted.
      if (stop === STOP_FULL && next > from && next < end) {
        from = next;
        continue;
      }
      // Only what the bridge carries (see feed): the buffers then end where they would without the fast path,
      // so a long element that outgrows the limit is refused at the same place.
      this.fastCut =
        stop === STOP_CUT &&
        end === len &&
        len - next <= MAX_BRIDGED &&
        len - next < this.limits.maxElementBytes;
      return next;
    }
  }

  /** The fast path stopped at an element or reference that runs past the buffer's end. */
  private fastCut = false;

  /** The `n` top-level elements the fast path has just accepted (their spans, for onTopLevel). */
  protected accepted(fast: ContentCheck, n: number): void {
    const onTopLevel = this.handlers.onTopLevel;
    if (onTopLevel === undefined) return;
    const span = this.span;
    for (let k = 0; k < n; k++) {
      fast.span(k, span);
      const name = this.names.get(this.buf, span.start + 1, span.start + 1 + span.nameLength, span.nameHash);
      onTopLevel(name, this.base + span.start, this.base + span.end);
    }
  }

  /** fastContent()'s record of one element the fast path accepted. */
  private readonly span: SpanRecord = { start: 0, end: 0, nameLength: 0, nameHash: 0 };

  /** The parse has gone past a byte that is not UTF-8 (ScannerOptions.utf8) without an earlier error. */
  private refuseEncoding(): never {
    const hex = this.badEncodingByte.toString(16).padStart(2, '0');
    throw new ScanFailure(
      this.badEncodingAt - this.base,
      `not UTF-8: byte 0x${hex} (the backend's XML parser refuses it)`,
    );
  }

  private tooBig(): string {
    return `element larger than ${this.limits.maxElementBytes} bytes (limit; Apple's are a few KB)`;
  }

  /** Refuses an unfinished markup or element that has outgrown the limit. */
  private checkSize(pos: number, len: number): void {
    const from = this.current !== null ? this.current.startOffset : this.base + pos;
    if (this.base + len - from > this.limits.maxElementBytes) throw new ScanFailure(pos, this.tooBig());
  }

  // ── character data ───────────────────────────────────────────────────────

  private text(from: number, len: number, final: boolean): number {
    const buf = this.buf;
    let to = buf.indexOf(0x3c, from);
    if (to === -1) to = len;
    if (this.phase !== Phase.Root) {
      for (let i = from; i < to; i++) {
        const c = buf[i]!;
        // Illegal controls are already counted as their own (repairable) defect.
        if (!isSpace(c) && c >= 0x20) {
          throw new ScanFailure(
            i,
            this.phase === Phase.Prolog ? 'text before the root element' : 'text after the root element',
          );
        }
      }
      return to;
    }
    let amp = -1;
    for (let i = from; i < to; i++) {
      if (buf[i] === 0x26) {
        amp = i;
        break;
      }
    }
    if (amp !== -1) {
      try {
        const partial = checkTextReferences(buf, amp, to, final || to < len);
        if (partial !== -1) return partial === from ? NEED_MORE : partial;
      } catch (e) {
        if (e instanceof EntityError) throw new ScanFailure(e.index, e.message);
        throw e;
      }
    }
    return to;
  }

  // ── tags ─────────────────────────────────────────────────────────────────

  /** Index after the name starting at p; leaves the name's hash in nameHash for nameString. */
  protected readName(p: number, len: number): number {
    const buf = this.buf;
    let h = 0;
    while (p < len) {
      const c = buf[p]!;
      if (!(NAME[c]! & 2)) break;
      h = (Math.imul(h, 31) + c) | 0;
      p++;
    }
    this.nameHash = h;
    return p;
  }

  /** The name just read by readName. */
  protected nameString(a: number, b: number): string {
    return this.names.get(this.buf, a, b, this.nameHash);
  }

  /** Bytes handed to the parser at a time (see write). */
  protected pieceBytes(): number {
    return PIECE_BYTES;
  }

  /** Whether run() needs the latin1 twin of the buffer (a check-only scan inside the root does not). */
  protected wantsTwin(): boolean {
    return true;
  }

  /** Whether elements carry their children (a check-only scan's do not). */
  protected keepsChildren(): boolean {
    return true;
  }

  protected inRoot(): boolean {
    return this.phase === Phase.Root;
  }

  /** The remembered layout of an element name (a fresh, unremembered one past MAX_LAYOUTS names). */
  protected layoutOf(name: string): Layout {
    let layout = this.layouts.get(name);
    if (layout === undefined) {
      layout = new Layout();
      if (this.layouts.size < MAX_LAYOUTS) this.layouts.set(name, layout);
    }
    return layout;
  }

  protected startTag(s: number, len: number): number {
    const buf = this.buf;
    const str = this.str;
    const view = this.view;
    let p = s + 1;
    if (!(NAME[buf[p]!]! & 1)) throw new ScanFailure(s, 'stray "<" (use &lt;) or invalid element name');
    const nameEnd = this.readName(p, len);
    if (nameEnd >= len) return NEED_MORE;
    const name = this.nameString(p, nameEnd);
    p = nameEnd;
    const layout = this.layoutOf(name);
    const serial = ++this.tagSerial;
    const attrs: Record<string, string> = {};
    let selfClosing = false;
    let prev: AttrSlot | null = null;
    for (;;) {
      let slot: AttrSlot | null = prev === null ? layout.first : prev.next;
      if (
        slot !== null &&
        slot.whole !== null &&
        p < len &&
        buf[p] === 0x20 &&
        slot.whole.at(view, buf, p + 1, len)
      ) {
        // Name, value and closing quote exactly as last time (Apple's runs of one type, unit and source).
        if (slot.stamp === serial)
          throw new ScanFailure(p + 1, `duplicate attribute "${slot.name}" in <${name}>`);
        slot.stamp = serial;
        slot.hit();
        if (slot.name === '__proto__')
          Object.defineProperty(attrs, slot.name, { value: slot.value, enumerable: true, writable: true });
        else attrs[slot.name] = slot.value;
        p += 1 + slot.whole.length;
        prev = slot;
        continue;
      }
      let attrName: string;
      let v: number;
      let quote = 0x22;
      if (slot !== null && p < len && buf[p] === 0x20 && slot.prefix.at(view, buf, p + 1, len)) {
        // The attribute that followed last time, written the same way: ` name="`.
        attrName = slot.name;
        v = p + 1 + slot.prefix.length;
      } else {
        const head = this.attributeHead(p, len, name);
        if (head === NEED_MORE) return NEED_MORE;
        if (head === TAG_ENDED) {
          p = this.tagEnd;
          selfClosing = this.selfClosed;
          break;
        }
        attrName = this.nameString(this.headName, this.headNameEnd);
        quote = this.headQuote;
        v = head;
        slot = layout.slot(attrName);
        if (slot !== null) {
          if (prev === null) layout.first = slot;
          else prev.next = slot;
        }
      }
      let close: number;
      let value: string;
      if (slot !== null) {
        if (slot.stamp === serial)
          throw new ScanFailure(v - 2 - attrName.length, `duplicate attribute "${attrName}" in <${name}>`);
        slot.stamp = serial;
      } else if (attrs[attrName] !== undefined && Object.hasOwn(attrs, attrName)) {
        throw new ScanFailure(v - 2 - attrName.length, `duplicate attribute "${attrName}" in <${name}>`);
      }
      const caching = slot?.caching() === true;
      const raw = caching ? slot!.raw : null;
      if (raw !== null && str.startsWith(raw, v) && buf[v + raw.length] === quote) {
        close = v + raw.length;
        value = slot!.value;
        slot!.hit();
      } else {
        close = this.valueEnd(v, len, quote);
        if (close === NEED_MORE) return NEED_MORE;
        value = this.attrValue(v, close, this.valueFlags, caching ? slot : null);
      }
      if (attrName === '__proto__')
        Object.defineProperty(attrs, attrName, { value, enumerable: true, writable: true });
      else attrs[attrName] = value;
      p = close + 1;
      prev = slot;
    }
    if (prev !== null) prev.next = null;
    this.openElement(s, p, name, attrs, selfClosing);
    return p;
  }

  /**
   * Reads one attribute up to its value: from `p` (after the element name or the previous value's
   * closing quote) over whitespace, the name, '=' and the opening quote. Returns the value's first
   * index, with the name's span and hash and the quote in the head fields; or TAG_ENDED at '>' or '/>'
   * (tagEnd and selfClosed say which); or NEED_MORE. Both start-tag readers share it, so they report
   * the same errors at the same places.
   */
  protected attributeHead(p: number, len: number, element: string): number {
    const buf = this.buf;
    const sp = p;
    while (p < len && isSpace(buf[p]!)) p++;
    if (p >= len) return NEED_MORE;
    let c = buf[p]!;
    if (c === 0x3e) {
      this.tagEnd = p + 1;
      this.selfClosed = false;
      return TAG_ENDED;
    }
    if (c === 0x2f) {
      if (p + 1 >= len) return NEED_MORE;
      if (buf[p + 1] !== 0x3e) throw new ScanFailure(p, 'expected ">" after "/" in a tag');
      this.tagEnd = p + 2;
      this.selfClosed = true;
      return TAG_ENDED;
    }
    if (sp === p) throw new ScanFailure(p, `missing whitespace before an attribute in <${element}>`);
    if (!(NAME[c]! & 1)) throw new ScanFailure(p, `invalid character in <${element}> tag`);
    const an = p;
    p = this.readName(p, len);
    if (p >= len) return NEED_MORE;
    this.headName = an;
    this.headNameEnd = p;
    this.headHash = this.nameHash;
    while (p < len && isSpace(buf[p]!)) p++;
    if (p >= len) return NEED_MORE;
    if (buf[p] !== 0x3d) throw new ScanFailure(p, `attribute "${this.headNameString()}" without a value`);
    p++;
    while (p < len && isSpace(buf[p]!)) p++;
    if (p >= len) return NEED_MORE;
    c = buf[p]!;
    if (c !== 0x22 && c !== 0x27)
      throw new ScanFailure(p, `unquoted value of attribute "${this.headNameString()}"`);
    this.headQuote = c;
    return p + 1;
  }

  /**
   * Index of the quote closing the value that starts at `v`, or NEED_MORE; valueFlags then tells
   * which VALUE_FLAGS (other than QUOTE) its bytes raised.
   */
  private valueEnd(v: number, len: number, quote: number): number {
    const buf = this.buf;
    let flags = 0;
    let i = v;
    for (;;) {
      i = skipPlainWords(this.view, i, len);
      while (i < len && VALUE_FLAGS[buf[i]!] === 0) i++;
      if (i >= len) return NEED_MORE;
      const c = buf[i]!;
      if (c === quote) break;
      flags |= VALUE_FLAGS[c]!;
      i++;
    }
    this.valueFlags = flags & ~QUOTE;
    return i;
  }

  protected headNameString(): string {
    this.nameHash = this.headHash;
    return this.nameString(this.headName, this.headNameEnd);
  }

  /**
   * Decodes the value in bytes [a, b) whose special bytes are summarised by `flags`. A value offered
   * to a slot's cache is a flat copy, so a consumer that holds a repeating value (a Map key, say)
   * never pins the chunk string that a substring would point into; a value that never repeats is a
   * substring, the cheapest string V8 can make.
   */
  private attrValue(a: number, b: number, flags: number, slot: AttrSlot | null): string {
    let value: string;
    const twin = this.str.length > 0;
    if (flags === 0) value = slot || !twin ? this.buf.latin1Slice(a, b) : this.str.slice(a, b);
    else if (flags === HI) value = this.buf.utf8Slice(a, b);
    else
      value = this.decodeValue(a, flags & HI ? this.buf.utf8Slice(a, b) : this.buf.latin1Slice(a, b), flags);
    if (slot) slot.store(flags === 0 ? value : this.buf.latin1Slice(a, b), value);
    return value;
  }

  /** Attribute-value normalisation and reference decoding (XML §3.3.3). */
  private decodeValue(a: number, s: string, flags: number): string {
    if (flags & LT)
      throw new ScanFailure(this.buf.indexOf(0x3c, a), '"<" inside an attribute value (use &lt;)');
    if (flags & WS) s = s.replace(/\r\n|[\r\n\t]/g, ' ');
    if (flags & AMP) {
      try {
        s = decodeReferences(s);
      } catch (e) {
        if (e instanceof EntityError) throw new ScanFailure(a, e.message);
        throw e;
      }
    }
    return s;
  }

  protected openElement(
    s: number,
    end: number,
    name: string,
    attrs: Record<string, string>,
    selfClosing: boolean,
  ): void {
    const abs = this.base + s;
    if (this.phase === Phase.Prolog) {
      this.rootName = name;
      this.rootAttrs = attrs;
      // ElementTree names every element of a default namespace `{ns}Name`: the backend's import,
      // which matches `Record` and `Workout`, then finds nothing (issue 18).
      const ns = attrs.xmlns;
      if (ns !== undefined && ns !== '' && Object.hasOwn(attrs, 'xmlns'))
        this.defect(
          'foreign-namespace',
          `<${name}> is in the namespace "${ns.slice(0, 200)}": the backend's parser then sees no Record or Workout in it`,
          abs,
        );
      this.rootContentStart = this.base + end;
      this.phase = Phase.Root;
      if (selfClosing) this.closeRoot(this.base + end);
      return;
    }
    if (this.phase !== Phase.Root) throw new ScanFailure(s, `element <${name}> after the root element`);
    const stack = this.stack;
    // Positions are for whoever receives elements; a defect finds its own line (defect()).
    const positioned = this.handlers.onElement !== undefined && (stack.length === 0 || this.keepsChildren());
    if (positioned) this.lines.advance(this.buf, this.base, abs);
    const line = positioned ? this.lines.line : 0;
    const column = positioned ? this.lines.column(abs) : 0;
    if (stack.length === 0) {
      const top: TopLevelElement = {
        name,
        attrs,
        children: this.keepsChildren() ? [] : NO_CHILDREN,
        line,
        column,
        startOffset: abs,
        endOffset: 0,
      };
      if (selfClosing) {
        top.endOffset = this.base + end;
        this.emit(top);
        return;
      }
      this.current = top;
      stack.push(top);
      return;
    }
    const keep = this.keepsChildren();
    if (!keep && selfClosing) return;
    // A check-only scan stacks an open child for its end tag's sake, but keeps no children.
    const el: ExportElement = { name, attrs, children: keep ? [] : NO_CHILDREN, line, column };
    if (keep) stack[stack.length - 1]!.children.push(el);
    if (!selfClosing) {
      // +1 for the root, which is not on the stack.
      if (stack.length + 2 > this.limits.maxDepth) {
        throw new ScanFailure(s, `elements nested deeper than ${this.limits.maxDepth} levels (limit)`);
      }
      stack.push(el);
    }
  }

  protected emit(top: TopLevelElement): void {
    this.topLevelCount++;
    this.current = null;
    this.handlers.onElement?.(top);
    this.handlers.onTopLevel?.(top.name, top.startOffset, top.endOffset);
  }

  /** An element below the root ended at absolute offset `end` with its end tag (for a subclass's bookkeeping). */
  protected elementEnded(_end: number): void {}

  private closeRoot(contentEnd: number): void {
    this.closed = true;
    this.rootContentEnd = contentEnd;
    this.phase = Phase.Epilog;
  }

  private endTag(s: number, len: number): number {
    const buf = this.buf;
    const a = s + 2;
    if (a >= len) return NEED_MORE;
    if (!(NAME[buf[a]!]! & 1)) throw new ScanFailure(s, 'invalid end tag');
    let p = this.readName(a, len);
    if (p >= len) return NEED_MORE;
    const nameEnd = p;
    while (p < len && isSpace(buf[p]!)) p++;
    if (p >= len) return NEED_MORE;
    if (buf[p] !== 0x3e) throw new ScanFailure(p, 'end tag not closed by ">"');
    p++;
    const name = this.nameString(a, nameEnd);
    const stack = this.stack;
    if (stack.length > 0) {
      const open = stack[stack.length - 1]!;
      if (open.name !== name) throw new ScanFailure(s, `</${name}> does not match <${open.name}>`);
      stack.pop();
      this.elementEnded(this.base + p);
      if (stack.length === 0) {
        const top = this.current!;
        top.endOffset = this.base + p;
        this.emit(top);
      }
      return p;
    }
    if (this.phase === Phase.Root) {
      if (name !== this.rootName) throw new ScanFailure(s, `</${name}> does not match <${this.rootName}>`);
      this.closeRoot(this.base + s);
      return p;
    }
    throw new ScanFailure(s, `end tag </${name}> outside the root element`);
  }

  // ── <! … > and <? … ?> (prolog.ts) ─────────────────────────────────────────

  private bang(s: number, len: number, final: boolean): number {
    const buf = this.buf;
    const kind = bangKind(buf, s, len, final);
    if (kind === null) return NEED_MORE;
    if (kind === 'comment') return commentEnd(buf, s, len);
    if (kind === 'cdata') {
      if (this.phase !== Phase.Root) throw new ScanFailure(s, 'CDATA section outside the root element');
      return cdataEnd(buf, s);
    }
    if (this.phase !== Phase.Prolog || this.doctype !== null) {
      throw new ScanFailure(s, 'DOCTYPE declaration in the wrong place');
    }
    const parsed = doctypeAt(buf, s, len, final);
    if (parsed === null) return NEED_MORE;
    for (const issue of parsed.issues) this.defect(issue.kind, issue.message, this.base + issue.index);
    this.doctype = {
      start: this.base + s,
      end: this.base + parsed.end,
      name: parsed.name,
      externalId: parsed.externalId,
      hasInternalSubset: parsed.hasInternalSubset,
    };
    this.exportVersion = parsed.exportVersion;
    for (let i = s; i < parsed.end; i++) {
      const c = buf[i]!;
      if (isIllegalByte(c)) this.illegalCharsInDoctype++;
    }
    return parsed.end;
  }

  private pi(s: number): number {
    const buf = this.buf;
    const close = buf.indexOf('?>', s + 2);
    if (close === -1) return NEED_MORE;
    const targetEnd = this.readName(s + 2, close);
    const decl = processingInstruction(buf, s, close, targetEnd, this.base + s, this.bom ? 3 : 0);
    if (decl !== null) this.xmlDeclaration = decl;
    return close + 2;
  }
}

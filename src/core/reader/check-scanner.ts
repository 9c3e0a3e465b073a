/**
 * The check-only scanner (ScannerOptions.checkOnly): the verdict, defects and element spans of a full
 * scan without decoding attribute values, reading inside the root on bytes alone and, where it can,
 * with the compiled fast path (content-check.ts).
 */
import { ContentCheck } from './content-check.js';
import { checkTextReferences, EntityError } from './entities.js';
import { CHECK_PIECE_BYTES, ExportScanner, PIECE_BYTES } from './export-scanner.js';
import type { ScannerLimits } from './limits.js';
import type { FragmentStart, ScannerHandlers } from './scanner.js';
import {
  AMP,
  AMP_X4,
  APOS_X4,
  type AttrSlot,
  commonReference,
  LT,
  LT_X4,
  NAME,
  NEED_MORE,
  NO_ATTRS,
  ONES,
  ScanFailure,
  sameBytes,
  sameLatin1,
  TAG_ENDED,
  TOPS,
} from './scanner-layout.js';
import type { JsTape } from './tape.js';

/**
 * The check-only scanner (ScannerOptions.checkOnly). A class of its own, so that the full scanner's
 * hot loop carries no test for it and stays monomorphic where only one kind is used.
 */
export class CheckOnlyScanner extends ExportScanner {
  constructor(
    handlers: ScannerHandlers,
    limits: Partial<ScannerLimits>,
    fragment: FragmentStart | undefined,
    fastPath: boolean,
  ) {
    // Upload sends the bytes as they are (but for the repair), so they must be UTF-8 for the backend's parser.
    super(handlers, limits, fragment, { utf8: true });
    // Whoever wants each top-level element whole gets it from the scanner: the fast path has only spans.
    if (fastPath && handlers.onElement === undefined)
      this.fast = ContentCheck.create(handlers.onTopLevel !== undefined);
  }

  protected override wantsTwin(): boolean {
    return !this.inRoot();
  }

  protected override keepsChildren(): boolean {
    return false;
  }

  /** Without a twin string inside the root, a piece need not stay small: whole chunks, fewer joins. */
  protected override pieceBytes(): number {
    return this.inRoot() ? CHECK_PIECE_BYTES : PIECE_BYTES;
  }

  protected override startTag(s: number, len: number): number {
    // The root's own attributes are decoded: they are the summary's locale.
    return this.inRoot() ? this.startTagCheck(s, len) : super.startTag(s, len);
  }

  /**
   * CheckOnlyScanner's start tag inside the root: startTag's checks, errors and layout shortcuts on
   * bytes alone. No string is made but the element's and attributes' names (interned), and a repeating
   * value's raw bytes once per change, for its slot's cache. The layout-following steps repeat startTag's
   * on purpose: shared as one method, both readers measured 5–10% slower on 500 MB (check 0.73 → 0.78 s,
   * full 1.25 → 1.34 s); the differential tests hold the two to the same verdicts and positions.
   */
  protected startTagCheck(s: number, len: number): number {
    const buf = this.buf;
    const view = this.view;
    let p = s + 1;
    if (!(NAME[buf[p]!]! & 1)) throw new ScanFailure(s, 'stray "<" (use &lt;) or invalid element name');
    const nameEnd = this.readName(p, len);
    if (nameEnd >= len) return NEED_MORE;
    const tape = this.tape;
    if (tape !== null) this.tapeStart(tape, s, nameEnd);
    const name = this.nameString(p, nameEnd);
    p = nameEnd;
    const layout = this.layoutOf(name);
    const serial = ++this.tagSerial;
    // Attributes without a slot (an element with more than MAX_LAYOUT_SLOTS names): [hash, start, end] triples.
    const seen = this.seenAttrs;
    let seenEnd = 0;
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
        if (slot.stamp === serial)
          throw new ScanFailure(p + 1, `duplicate attribute "${slot.name}" in <${name}>`);
        slot.stamp = serial;
        slot.hit();
        if (tape !== null) {
          const v = p + 1 + slot.prefix.length;
          tape.attribute(buf, p + 1, v - 2, slot.hash, v, p + slot.whole.length);
        }
        p += 1 + slot.whole.length;
        prev = slot;
        continue;
      }
      let v: number;
      let quote = 0x22;
      let attrName: string;
      // Where the attribute's name lies, and its hash, for the tape.
      let an = p + 1;
      let ae = 0;
      let nameHash = 0;
      if (slot !== null && p < len && buf[p] === 0x20 && slot.prefix.at(view, buf, p + 1, len)) {
        attrName = slot.name;
        v = p + 1 + slot.prefix.length;
        ae = v - 2;
        nameHash = slot.hash;
      } else {
        const head = this.attributeHead(p, len, name);
        if (head === NEED_MORE) return NEED_MORE;
        if (head === TAG_ENDED) {
          p = this.tagEnd;
          selfClosing = this.selfClosed;
          break;
        }
        attrName = this.headNameString();
        quote = this.headQuote;
        v = head;
        an = this.headName;
        ae = this.headNameEnd;
        nameHash = this.headHash;
        slot = layout.slot(attrName);
        if (slot !== null) {
          if (prev === null) layout.first = slot;
          else prev.next = slot;
        } else {
          const an = this.headName;
          const ae = this.headNameEnd;
          const hash = this.headHash;
          for (let k = 0; k < seenEnd; k += 3) {
            if (seen[k] === hash && sameBytes(buf, seen[k + 1]!, seen[k + 2]!, an, ae))
              throw new ScanFailure(
                v - 2 - attrName.length,
                `duplicate attribute "${attrName}" in <${name}>`,
              );
          }
          seen[seenEnd++] = hash;
          seen[seenEnd++] = an;
          seen[seenEnd++] = ae;
        }
      }
      if (slot !== null) {
        if (slot.stamp === serial)
          throw new ScanFailure(v - 2 - attrName.length, `duplicate attribute "${attrName}" in <${name}>`);
        slot.stamp = serial;
      }
      const close = this.valueEndCheck(v, len, quote);
      if (close === NEED_MORE) return NEED_MORE;
      const flags = this.valueFlags;
      if (flags & LT) throw new ScanFailure(buf.indexOf(0x3c, v), '"<" inside an attribute value (use &lt;)');
      if (flags & AMP) this.checkReferences(v, close);
      if (tape !== null) tape.attribute(buf, an, ae, nameHash, v, close);
      if (slot?.caching() === true) {
        const raw = slot.raw;
        if (raw !== null && raw.length === close - v && sameLatin1(buf, v, raw)) slot.hit();
        else slot.store(buf.latin1Slice(v, close), '');
      }
      p = close + 1;
      prev = slot;
    }
    if (prev !== null) prev.next = null;
    tape?.startTagEnd(selfClosing, this.base + p);
    this.openElement(s, p, name, NO_ATTRS, selfClosing);
    return p;
  }

  /** The tape the scanner writes of what it reads itself (a tape scan's, tape-scanner.ts), or null. */
  protected tape: JsTape | null = null;

  /** A start tag at s whose name ends at `nameEnd` (readName's hash in nameHash) goes on the tape. */
  private tapeStart(tape: JsTape, s: number, nameEnd: number): void {
    const abs = this.base + s;
    const top = this.stack.length === 0;
    tape.startTag(this.buf, s + 1, nameEnd, this.nameHash, abs);
    if (top) {
      this.advanceLines(this.fast, this.buf, abs);
      tape.line = this.lines.line;
      tape.column = this.lines.column(abs);
    }
  }

  /**
   * valueEnd for a check: only the closing quote, '<' and '&' matter when nothing is decoded, so whole
   * words are skipped unless they hold one of those three bytes exactly (spaces in dates and `device`
   * strings, and UTF-8, no longer stop the skip), and &lt; &gt; &amp; are passed over in place.
   * valueFlags gets LT for a '<', and AMP for any other reference, which checkReferences then judges.
   */
  private valueEndCheck(v: number, len: number, quote: number): number {
    const buf = this.buf;
    const view = this.view;
    // '&' (0x26) differs from '"' (0x22) only in bit 2 and from "'" (0x27) only in bit 0: setting that bit
    // in every byte folds the quote and '&' into one zero-byte test, '<' being the other.
    const fold = quote === 0x22 ? 0x04040404 : 0x01010101;
    const folded = quote === 0x22 ? AMP_X4 : APOS_X4;
    let flags = 0;
    let i = v;
    for (;;) {
      // Eight bytes a turn, then four: values are mostly 10–150 plain bytes.
      while (i + 8 <= len) {
        const w = view.getInt32(i, true);
        const x = view.getInt32(i + 4, true);
        const a = (w | fold) ^ folded;
        const l = w ^ LT_X4;
        const b = (x | fold) ^ folded;
        const m = x ^ LT_X4;
        const zero =
          (((a - ONES) | 0) & ~a) |
          (((l - ONES) | 0) & ~l) |
          (((b - ONES) | 0) & ~b) |
          (((m - ONES) | 0) & ~m);
        if (zero & TOPS) break;
        i += 8;
      }
      while (i + 4 <= len) {
        const w = view.getInt32(i, true);
        const a = (w | fold) ^ folded;
        const l = w ^ LT_X4;
        if (((((a - ONES) | 0) & ~a) | (((l - ONES) | 0) & ~l)) & TOPS) break;
        i += 4;
      }
      // Reads stay below len: an out-of-bounds read would cost a deoptimisation and a recompile.
      while (i < len) {
        const b = buf[i]!;
        if (b === quote || b === 0x26 || b === 0x3c) break;
        i++;
      }
      if (i >= len) return NEED_MORE;
      const c = buf[i]!;
      if (c === quote) break;
      if (c === 0x3c) {
        flags |= LT;
        i++;
      } else {
        const n = commonReference(buf, i, len);
        if (n === 0) flags |= AMP;
        i += n === 0 ? 1 : n;
      }
    }
    this.valueFlags = flags;
    return i;
  }

  /** Validates the references in an attribute value; &lt; &gt; &amp; (Apple's `device` strings) in place. */
  private checkReferences(a: number, b: number): void {
    const buf = this.buf;
    for (let i = buf.indexOf(0x26, a); i !== -1 && i < b; i = buf.indexOf(0x26, i + 1)) {
      const c1 = buf[i + 1];
      if (i + 3 < b && (c1 === 0x6c || c1 === 0x67) && buf[i + 2] === 0x74 && buf[i + 3] === 0x3b) continue;
      if (i + 4 < b && c1 === 0x61 && buf[i + 2] === 0x6d && buf[i + 3] === 0x70 && buf[i + 4] === 0x3b)
        continue;
      try {
        checkTextReferences(buf, i, b, true);
      } catch (e) {
        if (e instanceof EntityError) throw new ScanFailure(a, e.message);
        throw e;
      }
      return;
    }
  }
}

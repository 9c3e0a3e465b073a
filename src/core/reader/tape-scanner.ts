/**
 * The tape scanner (ScannerOptions.tape): a check-only scan that hands over every top-level element
 * as a tape (tape.ts), where its names and raw values lie in the source bytes, instead of decoded
 * strings. The compiled fast path writes the tape of what it accepts, which is nearly everything in
 * an Apple export; the scanner writes the same tape itself for what it reads (JsTape). Verdict,
 * defects and positions are the check-only scan's, so the same as a full scan's.
 */
import { CheckOnlyScanner } from './check-scanner.js';
import { ContentCheck, type TapeView } from './content-check.js';
import type { ScannerLimits } from './limits.js';
import type { FragmentStart, ScannerHandlers, ScannerOptions } from './scanner.js';
import {
  ENTRY_INTS,
  JsTape,
  T_HEAD,
  T_NAME_AT,
  T_NAME_HASH,
  T_NAME_LENGTH,
  TapeElement,
  type TapeFields,
} from './tape.js';
import type { TopLevelElement } from './types.js';

export class TapeScanner extends CheckOnlyScanner {
  private readonly element = new TapeElement();
  private readonly tapeView: TapeView = {
    ints: new Int32Array(0),
    bytes: Buffer.alloc(0),
    at: 0,
    length: 0,
    valueBase: 0,
    shift: 0,
  };
  private readonly js: JsTape;

  constructor(
    handlers: ScannerHandlers,
    limits: Partial<ScannerLimits>,
    fragment: FragmentStart | undefined,
    fastPath: boolean,
    fields: TapeFields | null,
    digest?: ScannerOptions['digest'],
  ) {
    super(handlers, limits, fragment, false);
    this.fast = fastPath ? ContentCheck.create(false, true, fields) : null;
    if (this.fast !== null && digest !== undefined && handlers.onDigested !== undefined)
      digest.attach(this.fast.digest(digest.fields));
    this.js = new JsTape(fields);
    this.tape = this.js;
    this.element.locate = (el) => this.locateFast(el);
  }

  /** The elements the fast path has just accepted, from its tape. */
  protected override accepted(fast: ContentCheck, n: number): void {
    if (fast.digesting) {
      this.acceptedDigested(fast, n);
      return;
    }
    const onTape = this.handlers.onTape;
    const onTopLevel = this.handlers.onTopLevel;
    const v = this.bindTape(fast);
    const el = this.element;
    const ints = v.ints;
    const end = v.at + v.length;
    let t = v.at;
    for (let k = 0; k < n && t < end; k++) {
      // The element's entries run to the next top-level tag entry.
      let u = t + ENTRY_INTS * (1 + (ints[t + T_HEAD]! >>> 8));
      while (u < end && (ints[u + T_HEAD]! & 0xff) !== 0) u += ENTRY_INTS * (1 + (ints[u + T_HEAD]! >>> 8));
      el.at = t;
      el.end = u;
      const nameAt = v.valueBase + ints[t + T_NAME_AT]!;
      el.name = this.names.get(v.bytes, nameAt, nameAt + ints[t + T_NAME_LENGTH]!, ints[t + T_NAME_HASH]!);
      el.line = 0;
      onTape?.(el);
      onTopLevel?.(el.name, el.startOffset(), el.endOffset());
      t = u;
    }
  }

  /** Points the element handed over at the fast path's tape of its last scan(); returns that tape. */
  private bindTape(fast: ContentCheck): TapeView {
    const v = this.tapeView;
    fast.tapeView(v);
    const el = this.element;
    el.ints = v.ints;
    el.bytes = v.bytes;
    el.valueBase = v.valueBase;
    el.offsetBase = this.base - v.shift;
    return v;
  }

  /**
   * accepted() with the digest on: the digest's entries say where each element's tape starts and
   * whether it was digested (onDigested) or is handed over whole (onTape).
   */
  private acceptedDigested(fast: ContentCheck, n: number): void {
    const h = this.handlers;
    const v = this.bindTape(fast);
    const el = this.element;
    const ints = v.ints;
    const d = fast.digestEntries();
    const epochs = fast.digestEpochs();
    const tapeEnd = v.at + v.length;
    for (let k = 0; k < n; k++) {
      const e = d + 4 * k;
      const t = v.at + ints[e]!;
      el.at = t;
      el.end = k + 1 < n ? v.at + ints[e + 4]! : tapeEnd;
      el.line = 0;
      const type = ints[e + 1]!;
      if (type !== 0) {
        const word = ints[e + 2]!;
        el.name = 'Record';
        const extremes = word >>> 8;
        h.onDigested!(el, type - 1, word & 0xff, extremes, v.valueBase + ints[e + 3]!, epochs[k]!);
        h.onTopLevel?.(el.name, el.startOffset(), el.endOffset());
        continue;
      }
      const nameAt = v.valueBase + ints[t + T_NAME_AT]!;
      el.name = this.names.get(v.bytes, nameAt, nameAt + ints[t + T_NAME_LENGTH]!, ints[t + T_NAME_HASH]!);
      h.onTape?.(el);
      h.onTopLevel?.(el.name, el.startOffset(), el.endOffset());
    }
  }

  /** Line and column of a fast-path element, while its bytes are the ones being scanned. */
  private locateFast(el: TapeElement): void {
    const abs = el.startOffset();
    this.advanceLines(this.fast, this.buf, abs);
    el.line = this.lines.line;
    el.column = this.lines.column(abs);
  }

  protected override elementEnded(end: number): void {
    this.js.endTag(end);
  }

  protected override emit(top: TopLevelElement): void {
    super.emit(top);
    const el = this.element;
    this.js.view(el, top.name);
    this.handlers.onTape?.(el);
    this.js.reset();
  }
}

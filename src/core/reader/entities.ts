/**
 * Decoding of the five predefined entities and numeric character references (XML 1.0 §4.1, §4.6).
 * Entities declared in a DTD are never expanded: an unknown `&name;` is a well-formedness error,
 * which is what keeps billion-laughs documents harmless (format §2.1: the DTD is never interpreted).
 */

/** Thrown by the decoders; the scanner turns it into a `not-well-formed` defect. */
export class EntityError extends Error {
  /** Offset of the offending '&' inside the decoded string or byte range. */
  readonly index: number;
  constructor(message: string, index: number) {
    super(message);
    this.index = index;
  }
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** XML 1.0 `Char` production: what a character reference may denote. */
export function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** Resolves the body of one reference (between '&' and ';'), or throws EntityError. */
export function resolveReference(body: string, index: number): string {
  if (body.charCodeAt(0) === 35 /* # */) {
    const hex = body.charCodeAt(1) === 120; /* x */
    const digits = body.slice(hex ? 2 : 1);
    if (digits.length === 0 || !(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) {
      throw new EntityError(`malformed character reference "&${body};"`, index);
    }
    const cp = Number.parseInt(digits, hex ? 16 : 10);
    if (!isXmlChar(cp))
      throw new EntityError(`character reference "&${body};" is not a legal XML character`, index);
    return String.fromCodePoint(cp);
  }
  const value = PREDEFINED[body];
  if (value === undefined) {
    throw new EntityError(
      body.length === 0
        ? 'empty entity reference "&;"'
        : `undeclared entity "&${body};" (DTD entities are never expanded)`,
      index,
    );
  }
  return value;
}

/** The text of the reference s[amp, semi]; &lt; &gt; &amp; (all of Apple's `device` strings) skip the checks. */
function referenceAt(s: string, amp: number, semi: number): string {
  const n = semi - amp;
  const c1 = s.charCodeAt(amp + 1);
  if (n === 3 && s.charCodeAt(amp + 2) === 116 /* t */) {
    if (c1 === 108 /* l */) return '<';
    if (c1 === 103 /* g */) return '>';
  } else if (n === 4 && c1 === 97 && s.charCodeAt(amp + 2) === 109 && s.charCodeAt(amp + 3) === 112)
    return '&';
  const body = s.slice(amp + 1, semi);
  if (!/^(#x?[0-9a-fA-F]+|[A-Za-z_:][\w.:-]*)$/.test(body)) {
    throw new EntityError('"&" not starting a reference (use &amp;)', amp);
  }
  return resolveReference(body, amp);
}

/** Replaces every reference in `s`; throws EntityError on a stray '&' or an unknown entity. */
export function decodeReferences(s: string): string {
  let amp = s.indexOf('&');
  if (amp === -1) return s;
  let out = '';
  let from = 0;
  while (amp !== -1) {
    const semi = s.indexOf(';', amp + 1);
    if (semi === -1 || semi - amp > 12)
      throw new EntityError('"&" not starting a reference (use &amp;)', amp);
    out += s.slice(from, amp) + referenceAt(s, amp, semi);
    from = semi + 1;
    amp = s.indexOf('&', from);
  }
  return out + s.slice(from);
}

/**
 * Checks the references in bytes [from, to) of character data without decoding them (text content
 * is not kept). Returns the index of an incomplete trailing reference (caller waits for more bytes),
 * or -1. Throws EntityError on a bad reference.
 */
export function checkTextReferences(buf: Buffer, from: number, to: number, final: boolean): number {
  let amp = buf.indexOf(38, from);
  while (amp !== -1 && amp < to) {
    let end = amp + 1;
    while (end < to && end - amp <= 12 && buf[end] !== 59 /* ; */) end++;
    if (end >= to || buf[end] !== 59) {
      if (end >= to && !final && end - amp <= 12) return amp;
      throw new EntityError('"&" not starting a reference (use &amp;)', amp);
    }
    const body = buf.latin1Slice(amp + 1, end);
    if (!/^(#x?[0-9a-fA-F]+|[A-Za-z_:][\w.:-]*)$/.test(body)) {
      throw new EntityError('"&" not starting a reference (use &amp;)', amp);
    }
    resolveReference(body, amp);
    amp = buf.indexOf(38, end + 1);
  }
  return -1;
}

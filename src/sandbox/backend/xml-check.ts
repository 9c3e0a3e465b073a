// Python's ElementTree (expat) rejects a malformed internal DTD subset before reading any element, while saxes
// skips over the subset without checking it. The backend double must fail where the real backend fails
// (contract §5.1, apple-health-format §2.1), so this module checks the subset's syntax the way expat does and
// words its errors like expat: "<reason>: line L, column C" with 1-based lines and 0-based columns.

/** A parse failure worded like pyexpat's `ParseError`. */
export class XmlParseError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${reason}: line ${line}, column ${column}`);
    this.name = 'XmlParseError';
  }
}

/** 1-based line and 0-based column (in code points, as expat counts them) of `offset` in `text`. */
export function positionAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  let column = 0;
  for (let i = lineStart; i < offset; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xdc00 || code > 0xdfff) column++;
  }
  return { line, column };
}

const NAME = /[\p{L}_:][\p{L}\p{N}._:\u00b7-]*/uy;
const ATT_TYPES = new Set(['CDATA', 'ID', 'IDREF', 'IDREFS', 'ENTITY', 'ENTITIES', 'NMTOKEN', 'NMTOKENS']);

class SubsetScanner {
  i: number;

  constructor(
    readonly text: string,
    start: number,
  ) {
    this.i = start;
  }

  fail(reason = 'syntax error', at = this.i): never {
    const { line, column } = positionAt(this.text, Math.min(at, this.text.length));
    throw new XmlParseError(reason, line, column);
  }

  eof(): boolean {
    return this.i >= this.text.length;
  }

  /** Skips whitespace; returns whether there was any. */
  space(): boolean {
    const start = this.i;
    while (!this.eof() && ' \t\r\n'.includes(this.text[this.i] as string)) this.i++;
    return this.i > start;
  }

  requireSpace(): void {
    if (this.eof()) this.fail('unclosed token');
    if (!this.space()) this.fail();
  }

  at(s: string): boolean {
    return this.text.startsWith(s, this.i);
  }

  expect(s: string): void {
    if (this.eof()) this.fail('unclosed token');
    if (!this.at(s)) this.fail();
    this.i += s.length;
  }

  name(): string {
    if (this.eof()) this.fail('unclosed token');
    NAME.lastIndex = this.i;
    const match = NAME.exec(this.text);
    if (!match) this.fail();
    this.i += match[0].length;
    return match[0];
  }

  quoted(): void {
    const quote = this.text[this.i];
    if (quote !== '"' && quote !== "'") this.fail();
    const end = this.text.indexOf(quote, this.i + 1);
    if (end < 0) this.fail('unclosed token');
    if (this.text.slice(this.i + 1, end).includes('<')) this.fail('not well-formed (invalid token)');
    this.i = end + 1;
  }

  skipPast(terminator: string): void {
    const end = this.text.indexOf(terminator, this.i);
    if (end < 0) this.fail('unclosed token');
    this.i = end + terminator.length;
  }

  /** `(a|b)`-style enumerations and content-model groups, nested, with `?*+` suffixes. */
  group(): void {
    this.expect('(');
    for (;;) {
      this.space();
      if (this.at('(')) this.group();
      else if (this.at('#PCDATA')) this.i += 7;
      else this.name();
      this.suffix();
      this.space();
      if (this.at(')')) {
        this.i++;
        return;
      }
      if (this.at('|') || this.at(',')) {
        this.i++;
        continue;
      }
      this.fail();
    }
  }

  suffix(): void {
    if (this.at('?') || this.at('*') || this.at('+')) this.i++;
  }

  elementDecl(): void {
    this.i += '<!ELEMENT'.length;
    this.requireSpace();
    this.name();
    this.requireSpace();
    if (this.at('EMPTY')) this.i += 5;
    else if (this.at('ANY')) this.i += 3;
    else {
      this.group();
      this.suffix();
    }
    this.space();
    this.expect('>');
  }

  attlistDecl(): void {
    this.i += '<!ATTLIST'.length;
    this.requireSpace();
    this.name();
    for (;;) {
      const spaced = this.space();
      if (this.eof()) this.fail('unclosed token');
      if (this.at('>')) {
        this.i++;
        return;
      }
      if (!spaced) this.fail();
      this.name();
      this.requireSpace();
      if (this.at('(')) this.group();
      else {
        const typeAt = this.i;
        const type = this.name();
        if (type === 'NOTATION') {
          this.requireSpace();
          this.group();
        } else if (!ATT_TYPES.has(type)) this.fail('syntax error', typeAt);
      }
      this.requireSpace();
      if (this.at('#REQUIRED')) this.i += 9;
      else if (this.at('#IMPLIED')) this.i += 8;
      else {
        if (this.at('#FIXED')) {
          this.i += 6;
          this.requireSpace();
        }
        this.quoted();
      }
    }
  }

  /** Declarations the double does not need to understand: skip to their `>`, honouring quoted literals. */
  otherDecl(): void {
    for (this.i += 2; !this.eof(); ) {
      const ch = this.text[this.i];
      if (ch === '"' || ch === "'") this.quoted();
      else if (ch === '>') {
        this.i++;
        return;
      } else this.i++;
    }
    this.fail('unclosed token');
  }

  /** From just after `<!DOCTYPE` to just past its closing `>`. */
  doctype(): void {
    this.requireSpace();
    this.name();
    this.space();
    if (this.at('SYSTEM') || this.at('PUBLIC')) {
      const isPublic = this.at('PUBLIC');
      this.i += 6;
      this.requireSpace();
      this.quoted();
      if (isPublic) {
        this.requireSpace();
        this.quoted();
      }
      this.space();
    }
    if (this.at('[')) {
      this.i++;
      this.subset();
      this.space();
    }
    this.expect('>');
  }

  subset(): void {
    for (;;) {
      this.space();
      if (this.eof()) this.fail('unclosed token');
      if (this.at(']')) {
        this.i++;
        return;
      }
      if (this.at('<!--')) this.skipPast('-->');
      else if (this.at('<?')) this.skipPast('?>');
      else if (this.at('<!ELEMENT')) this.elementDecl();
      else if (this.at('<!ATTLIST')) this.attlistDecl();
      else if (this.at('<!ENTITY') || this.at('<!NOTATION')) this.otherDecl();
      else if (this.at('%')) {
        this.i++;
        this.name();
        this.expect(';');
      } else this.fail();
    }
  }
}

/**
 * Checks the DOCTYPE declaration (if any) of a document's prolog, throwing an expat-worded `XmlParseError`
 * where expat would stop. Only the prolog is examined; saxes checks the rest.
 */
export function checkDoctype(text: string): void {
  const start = text.indexOf('<!DOCTYPE');
  if (start < 0) return;
  // A DOCTYPE after the root element starts is saxes's to report, not ours.
  const firstElement = /<[\p{L}_:]/u.exec(text);
  if (firstElement && firstElement.index < start) return;
  const scanner = new SubsetScanner(text, start + '<!DOCTYPE'.length);
  scanner.doctype();
}

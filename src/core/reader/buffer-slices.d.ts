// Node's Buffer has fast, argument-unchecked slice decoders that @types/node does not declare.
// The scanner calls them on its hot path (they skip the encoding switch in Buffer#toString).
declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    utf8Slice(start: number, end: number): string;
  }
}

export {};

/**
 * Finding the C0 control characters XML 1.0 forbids (everything below U+0020 but tab, LF and CR;
 * format §2.2), the hot loop of every pass over an export: the scanner counts them, the repair drops
 * them, the splitter tracks them. Exports are hundreds of MB and almost never contain one.
 */

export function isIllegalByte(c: number): boolean {
  return c < 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d;
}

/** 0x20 in every byte, and each byte's top bit, as int32 so V8 keeps the word arithmetic in integers. */
const SPACES = 0x20202020 | 0;
const TOPS = 0x80808080 | 0;

function inBytes(buf: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) if (isIllegalByte(buf[i]!)) return i;
  return -1;
}

/**
 * Index of the first illegal byte in buf[from, to), or -1. Sixteen bytes per step with the "has a byte
 * less than n" word trick ((w - 0x20202020) & ~w & 0x80808080 is non-zero iff a byte is below 0x20);
 * single bytes are looked at only in blocks that have one below 0x20, mostly the newline after each
 * record.
 */
export function firstIllegal(buf: Buffer, from = 0, to = buf.length): number {
  let i = from;
  const off = buf.byteOffset;
  // Single bytes up to a 4-byte boundary of the underlying memory, so an Int32Array view fits.
  while (i < to && ((off + i) & 3) !== 0) {
    if (isIllegalByte(buf[i]!)) return i;
    i++;
  }
  const words = (to - i) >> 2;
  if (words > 0) {
    const w = new Int32Array(buf.buffer, off + i, words);
    let k = 0;
    for (; k + 4 <= words; k += 4) {
      const a = w[k]!;
      const b = w[k + 1]!;
      const c = w[k + 2]!;
      const d = w[k + 3]!;
      const low =
        (((a - SPACES) | 0) & ~a) |
        (((b - SPACES) | 0) & ~b) |
        (((c - SPACES) | 0) & ~c) |
        (((d - SPACES) | 0) & ~d);
      if ((low & TOPS) !== 0) {
        const hit = inBytes(buf, i + (k << 2), i + (k << 2) + 16);
        if (hit !== -1) return hit;
      }
    }
    for (; k < words; k++) {
      const a = w[k]!;
      if ((((a - SPACES) | 0) & ~a & TOPS) !== 0) {
        const hit = inBytes(buf, i + (k << 2), i + (k << 2) + 4);
        if (hit !== -1) return hit;
      }
    }
    i += words << 2;
  }
  return inBytes(buf, i, to);
}

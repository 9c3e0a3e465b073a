import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';

/** One file entry of a zip's central directory, as far as input resolution needs it. */
export interface ZipEntryInfo {
  fileName: string;
  /** Declared uncompressed size (from the Zip64 extra field when the entry needs it). */
  uncompressedSize: number;
  compressedSize: number;
  /** CRC-32 of the uncompressed bytes, from the central directory (part of the upload fingerprint). */
  crc32: number;
}

/** A zip opened for reading its central directory and streaming entries; never extracts to disk. */
export class ZipArchive {
  private constructor(
    private readonly zip: ZipFile,
    private readonly entries: Map<string, Entry>,
  ) {}

  /** Reads the central directory (lazily, one entry at a time: exports hold thousands of GPX files). */
  static async open(path: string): Promise<ZipArchive> {
    // autoClose off: we open several entry streams (sniffing, then the real read) from one handle.
    const zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, decodeStrings: true });
    const entries = new Map<string, Entry>();
    try {
      for await (const entry of zip.eachEntry()) {
        if (!entry.fileName.endsWith('/')) entries.set(entry.fileName, entry);
      }
    } catch (err) {
      zip.close();
      throw err;
    }
    return new ZipArchive(zip, entries);
  }

  list(): ZipEntryInfo[] {
    return [...this.entries.values()].map((e) => ({
      fileName: e.fileName,
      uncompressedSize: e.uncompressedSize,
      compressedSize: e.compressedSize,
      crc32: e.crc32,
    }));
  }

  /** An inflating stream of the whole entry (yauzl checks the declared size and CRC at the end). */
  async openEntry(fileName: string): Promise<Readable> {
    const entry = this.entries.get(fileName);
    if (!entry) throw new Error(`zip entry not found: ${fileName}`);
    return this.zip.openReadStreamPromise(entry);
  }

  close(): void {
    if (this.zip.isOpen) this.zip.close();
  }
}

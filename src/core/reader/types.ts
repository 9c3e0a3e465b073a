/**
 * Shapes shared by the export reader (scanner), validate, repair/split (S3 upload) and direct batches.
 * Owned by the reader; other modules import these types only.
 */

/** One element with its decoded attributes and (for top-level elements) its whole subtree. */
export interface ExportElement {
  name: string;
  /** Attribute values with entities and character references decoded; in document order. */
  attrs: Record<string, string>;
  children: ExportElement[];
  /** 1-based line and column of the element's '<'; column counts bytes from the line start. */
  line: number;
  column: number;
}

/** A direct child of <HealthData> together with where its bytes sit in the source. */
export interface TopLevelElement extends ExportElement {
  /** Byte offset of '<' in the original (unrepaired) source. */
  startOffset: number;
  /** Byte offset just past the closing '>' in the original source. */
  endOffset: number;
}

export type DefectKind =
  | 'dtd-unclosed-attlist'
  | 'dtd-missing-gt'
  | 'dtd-extra-gt'
  | 'dtd-malformed'
  | 'dtd-entity-declared'
  | 'dtd-external-reference'
  | 'illegal-character'
  | 'truncated'
  | 'not-well-formed'
  /** The root is `<HealthData>` in a default namespace: the backend's parser then matches no Record in it. */
  | 'foreign-namespace';

export interface Defect {
  kind: DefectKind;
  message: string;
  line: number;
  column: number;
  /** Byte offset in the source. */
  offset: number;
  /** true when the repairing stream fixes it (DTD defects, illegal characters). */
  repairable: boolean;
}

/** Where the DOCTYPE declaration sits in the source (absolute byte offsets, end exclusive). */
export interface DoctypeSpan {
  start: number;
  end: number;
  name: string;
  /** `SYSTEM "…"` / `PUBLIC "…" "…"` as written, or null. */
  externalId: string | null;
  hasInternalSubset: boolean;
}

export interface XmlDeclaration {
  version: string | null;
  encoding: string | null;
  standalone: string | null;
}

/** What one pass over an export learns; enough for validate, repair (repair.ts) and splitting. */
export interface ScanSummary {
  /** Source bytes read. */
  bytes: number;
  /** sha256 (hex) of the source bytes, computed in the same pass. */
  sha256: string;
  bom: boolean;
  xmlDeclaration: XmlDeclaration | null;
  /** N from the `<!-- HealthKit Export Version: N -->` comment in the DTD. */
  exportVersion: number | null;
  rootName: string | null;
  /** The root element is `<HealthData>`. */
  rootSeen: boolean;
  locale: string | null;
  rootAttrs: Record<string, string>;
  /** `</HealthData>` was seen. */
  closed: boolean;
  doctype: DoctypeSpan | null;
  /** Absolute offset just past the root start tag's '>' (the header is bytes [0, rootContentStart)). */
  rootContentStart: number | null;
  /** Absolute offset of the '<' of the root end tag (the trailer is bytes [rootContentEnd, bytes)). */
  rootContentEnd: number | null;
  topLevelCount: number;
  /** Illegal XML 1.0 characters (C0 controls other than tab, LF, CR) in the whole source. */
  illegalCharCount: number;
  /** Of those, how many sit inside the DOCTYPE span (the repair drops them with it). */
  illegalCharsInDoctype: number;
  /** The first MAX_REPORTED_DEFECTS defects, in detection order. */
  defects: Defect[];
  /** Every defect counted by kind, including those not kept in `defects`. */
  defectCounts: Partial<Record<DefectKind, number>>;
  /** The source is well-formed XML 1.0 as it is (entity declarations and external ids are hazards, not errors). */
  wellFormed: boolean;
  /** Every defect is repairable, so the repaired stream is well-formed. */
  repairable: boolean;
}

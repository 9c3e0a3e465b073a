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
  | 'not-well-formed';

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

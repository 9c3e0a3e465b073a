/**
 * The `verification` of an upload's --json document (docs/schemas/upload.schema.json), as tests read it:
 * the result's own type, which the document carries as it is (the schema checks the document itself).
 */
export type { S3Verification as Verification } from '../../src/core/upload/s3/result.js';

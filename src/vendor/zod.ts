/**
 * zod, as every module here imports it. Under tsx (tests) this is the package itself; the build bundles
 * it into dist/ (scripts/build.mjs): loaded from its ~100 modules, resolving and compiling them is the
 * largest part of a backend command's start-up (whoami, status), and bundled it is read and compiled at a
 * fraction of that cost.
 *
 * Only the builders used here are named, so the bundle leaves out the rest of zod (the other schema
 * kinds, the locales but English, JSON Schema): it is a quarter of the whole package's size, and every
 * backend command compiles it at start-up. A builder not listed here is a type error where it is used.
 */
import type * as zod from 'zod';
import {
  array,
  boolean,
  discriminatedUnion,
  enum as enumOf,
  literal,
  number,
  object,
  record,
  string,
  unknown,
} from 'zod';

export const z = {
  array,
  boolean,
  discriminatedUnion,
  enum: enumOf,
  literal,
  number,
  object,
  record,
  string,
  unknown,
};

export declare namespace z {
  type infer<T> = zod.infer<T>;
  type ZodType<Output = unknown, Input = unknown> = zod.ZodType<Output, Input>;
}

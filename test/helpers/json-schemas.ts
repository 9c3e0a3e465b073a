import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';

/** The published JSON Schemas of every command's --json document (docs/schemas/), compiled once. */
const SCHEMA_DIR = join(import.meta.dirname, '..', '..', 'docs', 'schemas');

let compiled: Map<string, ValidateFunction> | undefined;

function schemas(): Map<string, ValidateFunction> {
  if (compiled) return compiled;
  const ajv = new Ajv({ allErrors: true, strict: true });
  compiled = new Map();
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json'))) {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8'));
    compiled.set(file.replace(/\.schema\.json$/, ''), ajv.compile(schema));
  }
  return compiled;
}

/** The command names that have a schema (the error document aside). */
export function schemaNames(): string[] {
  return [...schemas().keys()].filter((n) => n !== 'error');
}

/** Global flags that take a value: the word after them is not the command. */
const VALUE_FLAGS = new Set(['--server', '--profile', '--api-key', '--token']);

/** The command a CLI argument list runs (its first word that is neither a flag nor a flag's value). */
export function commandOf(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return undefined;
    if (VALUE_FLAGS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** Throws unless `value` is valid against the schema `name` (docs/schemas/NAME.schema.json). */
export function assertMatchesSchema(name: string, value: unknown): void {
  const validate = schemas().get(name);
  if (!validate) throw new Error(`no schema docs/schemas/${name}.schema.json`);
  if (!validate(value)) {
    const why = (validate.errors ?? [])
      .slice(0, 8)
      .map((e) => `  ${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
      .join('\n');
    throw new Error(
      `--json output does not match docs/schemas/${name}.schema.json:\n${why}\n${JSON.stringify(value).slice(0, 600)}`,
    );
  }
}

/** Every document a run printed: one, or one per line for a stream (`status --follow`). */
function documents(args: string[], stdout: string): unknown[] {
  const streamed = commandOf(args) === 'status' && args.includes('--follow');
  if (streamed)
    return stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
  try {
    return [JSON.parse(stdout) as unknown];
  } catch (err) {
    throw new Error(`--json must print exactly one JSON document; stdout was:\n${stdout.slice(0, 600)}`, {
      cause: err,
    });
  }
}

/**
 * Holds a --json run to its contract: stdout is exactly one JSON document (a stream: one per line), the
 * error document when the run failed without a result of its own, and every document matches its schema.
 */
export function checkJsonOutput(args: string[], code: number, stdout: string): void {
  const end = args.indexOf('--');
  const flags = end === -1 ? args : args.slice(0, end);
  if (!flags.includes('--json')) return;
  // Help and the version are text, whatever else is on the line.
  if (flags.some((a) => ['--help', '-h', '--version', '-v'].includes(a)) || commandOf(args) === 'help')
    return;
  const command = commandOf(args);
  const docs = documents(args, stdout);
  for (const doc of docs) {
    const isError =
      typeof doc === 'object' && doc !== null && Object.keys(doc).length === 1 && 'error' in doc;
    if (isError) {
      assertMatchesSchema('error', doc);
      const exitCode = (doc as { error: { exitCode: number } }).error.exitCode;
      if (exitCode !== code)
        throw new Error(`the error document says exit ${exitCode}, the run exited ${code}`);
    } else {
      if (!command || !schemas().has(command))
        throw new Error(`no schema for the --json of ${args.join(' ')}`);
      assertMatchesSchema(command, doc);
    }
  }
}

/** The error document a failed --json run printed, checked against its schema. */
export function errorDocument(stdout: string): {
  code: string;
  exitCode: number;
  message: string;
  hint: string | null;
} {
  const doc = JSON.parse(stdout) as {
    error: { code: string; exitCode: number; message: string; hint: string | null };
  };
  assertMatchesSchema('error', doc);
  return doc.error;
}

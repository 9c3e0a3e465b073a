import { portFlag } from '../../config/flags.js';
import { ExitCode, UsageError } from '../../errors.js';
import type { Factory } from '../../factory.js';
import { type SandboxImportEvent, type SandboxInfo, startSandbox } from '../../sandbox/run-sandbox.js';

/** The flags as commander hands them over (strings), before run() checks them. */
export interface SandboxFlags {
  port?: string;
  s3Port?: string;
  dataDir?: string;
  backend: string;
  completionMode?: string;
}

function choice<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} must be ${allowed.join(' or ')}, not "${value}".`);
}

/**
 * The info block is the command's data, so it goes to stdout. It and the JSON bypass the redactor on purpose:
 * printing these throwaway sandbox credentials is what the command is for, and the redactor masks every
 * `sk-…` shape.
 */
function printInfo(f: Factory, info: SandboxInfo): void {
  const b = f.out.dataTheme.bold;
  const kind =
    info.backend.generation === 'current'
      ? `current backend, ${info.backend.completion_mode} completion`
      : 'backend before August 2026, presigned POST only';
  const lines = [
    `${b('Sandbox backend')} ${info.url}  (${kind}; S3: ${info.s3.endpoint}/${info.s3.bucket})`,
    `  developer login  ${info.developer.email} / ${info.developer.password}`,
    `  API key          ${info.api_key}`,
    ...info.users.map((u) => `  user             ${u.id}  ${u.email}  ${u.first_name} ${u.last_name}`),
    `  data dir         ${info.data_dir}${info.data_dir_kept ? ' (kept)' : ' (removed on stop)'}`,
    '',
    'Use it from another terminal:',
    `  ${info.commands.env}`,
    `  apple-import upload export.zip --user ${info.users[0]?.id ?? 'USER_ID'}`,
    'or log in with the developer account:',
    `  ${info.commands.login}`,
  ];
  f.io.stdout.write(`${lines.join('\n')}\n`);
}

function describeImport(e: SandboxImportEvent): string {
  const size = e.size === null ? '' : `${e.size} bytes, `;
  if (e.status === 'completed') return `imported ${e.key} (${size}${e.items ?? 0} items)`;
  return `${e.status === 'failed' ? 'import failed' : 'skipped'}: ${e.key}: ${e.reason ?? ''}`;
}

/** `sandbox`: serves the local backend and S3 endpoint until Ctrl-C. */
export async function runSandbox(f: Factory, flags: SandboxFlags): Promise<number> {
  const generation = choice('--backend', flags.backend, ['current', '2026-08'] as const);
  const completionMode =
    flags.completionMode === undefined
      ? undefined
      : choice('--completion-mode', flags.completionMode, ['client', 'sns'] as const);
  if (completionMode && generation !== 'current') {
    throw new UsageError(
      '--completion-mode applies to --backend current only (2026-08 has no completion modes).',
    );
  }
  const options = {
    port: flags.port === undefined ? undefined : portFlag('--port', flags.port),
    s3Port: flags.s3Port === undefined ? 0 : portFlag('--s3-port', flags.s3Port),
    dataDir: flags.dataDir,
    generation,
    completionMode,
    onImport: (e: SandboxImportEvent) =>
      e.status === 'failed' ? f.out.warn(describeImport(e)) : f.out.info(describeImport(e)),
  };
  if (f.signal.aborted) return ExitCode.INTERRUPTED;
  const sandbox = await startSandbox(options);
  try {
    if (f.globals.json) f.out.json(sandbox.info, { redact: false });
    else printInfo(f, sandbox.info);
    if (sandbox.info.port_note) f.out.warn(sandbox.info.port_note);
    f.out.info('Press Ctrl-C to stop.');
    await new Promise<void>((resolve) => {
      if (f.signal.aborted) resolve();
      else f.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    f.out.info('Stopping the sandbox.');
  } finally {
    await sandbox.close();
  }
  // Ctrl-C is the only way a sandbox ends, but it is still an interruption (product.md: exit 130).
  return ExitCode.INTERRUPTED;
}

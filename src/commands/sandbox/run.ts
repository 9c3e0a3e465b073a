import { portFlag } from '../../config/flags.js';
import { ExitCode } from '../../errors.js';
import type { Factory } from '../../factory.js';
import { type SandboxImportEvent, type SandboxInfo, startSandbox } from '../../sandbox/run-sandbox.js';

/** The flags as commander hands them over (strings), before run() checks them. */
export interface SandboxFlags {
  port: string;
  s3Port: string;
  dataDir?: string;
}

/**
 * The banner and the JSON bypass the redactor on purpose: printing these throwaway credentials of an in-memory
 * sandbox is what the command is for, and the redactor masks every `sk-…` shape.
 */
function printInfo(f: Factory, info: SandboxInfo): void {
  const b = f.out.theme.bold;
  const lines = [
    `${b('Sandbox backend')} ${info.url}  (S3: ${info.s3.endpoint}/${info.s3.bucket})`,
    `  developer login  ${info.developer.email} / ${info.developer.password}`,
    `  API key          ${info.api_key}`,
    ...info.users.map((u) => `  user             ${u.id}  ${u.email}  ${u.first_name} ${u.last_name}`),
    `  data dir         ${info.data_dir}${info.data_dir_kept ? '' : ' (removed on stop)'}`,
    '',
    'Use it from another terminal:',
    `  ${info.commands.env}`,
    `  apple-import upload export.zip --user ${info.users[0]?.id ?? 'USER_ID'}`,
    'or log in with the developer account:',
    `  ${info.commands.login}`,
    '',
    'Press Ctrl-C to stop.',
  ];
  f.io.stderr.write(`${lines.join('\n')}\n`);
}

function describeImport(e: SandboxImportEvent): string {
  if (e.status === 'completed') return `imported ${e.key} (${e.size} bytes, ${e.items ?? 0} items)`;
  return `${e.status === 'failed' ? 'import failed' : 'skipped'}: ${e.key}: ${e.reason ?? ''}`;
}

/** `sandbox`: serves the local backend and S3 endpoint until Ctrl-C. */
export async function runSandbox(f: Factory, flags: SandboxFlags): Promise<number> {
  const options = {
    port: portFlag('--port', flags.port),
    s3Port: portFlag('--s3-port', flags.s3Port),
    dataDir: flags.dataDir,
    onImport: (e: SandboxImportEvent) =>
      e.status === 'failed' ? f.out.warn(describeImport(e)) : f.out.info(describeImport(e)),
  };
  if (f.signal.aborted) return ExitCode.INTERRUPTED;
  const sandbox = await startSandbox(options);
  try {
    if (f.globals.json) f.io.stdout.write(`${JSON.stringify(sandbox.info, null, 2)}\n`);
    else printInfo(f, sandbox.info);
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

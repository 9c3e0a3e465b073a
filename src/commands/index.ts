import type { Command } from 'commander';
import type { RunState } from '../program.js';
import { registerConfig } from './config.js';
import { registerLogin } from './login.js';
import { registerLogout } from './logout.js';
import { registerSandbox } from './sandbox.js';
import { registerStatus } from './status.js';
import { registerUpload } from './upload.js';
import { registerUsers } from './users.js';
import { registerValidate } from './validate.js';
import { registerWhoami } from './whoami.js';

export type RegisterCommand = (program: Command, state: RunState) => void;

/** Every top-level command, in help order. */
export const COMMANDS: RegisterCommand[] = [
  registerLogin,
  registerLogout,
  registerWhoami,
  registerConfig,
  registerUsers,
  registerValidate,
  registerUpload,
  registerStatus,
  registerSandbox,
];

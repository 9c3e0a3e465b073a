import type { Command } from 'commander';
import type { RunState } from '../program.js';

export type RegisterCommand = (program: Command, state: RunState) => void;

/** Every top-level command, in help order. */
export const COMMANDS: RegisterCommand[] = [];

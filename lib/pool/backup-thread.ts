import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PmemdaxError, errorFromFields, type ErrorFields } from '../errors';
import type { BackupReport } from './types';

/** Set in the options of the `Pool.backup` a backup's thread makes: that one runs where it is called. */
export const ON_THIS_THREAD = Symbol('pmemdax.backupOnThisThread');

/** The data a backup's thread is started with. */
export interface BackupJob {
  readonly path: string;
  readonly dest: string;
  readonly progress: boolean;
}

/** What a backup's thread posts: progress as it goes, then the report or the error. */
export type BackupMessage = { progress: [number, number] } | { report: BackupReport } | { error: ErrorFields };

// Run from the TypeScript sources (the tests), the thread runs the build: a worker cannot load .ts files.
const SCRIPT = __filename.endsWith('.ts') ? join(__dirname, '..', '..', 'dist', 'pool', 'backup-worker.js') : join(__dirname, 'backup-worker.js');

/**
 * `Pool.backup` on a worker thread of its own (backup-worker.ts): the snapshot's open (a live journal
 * replayed, tens of milliseconds for thousands of records) and the copy hold that thread, never the
 * caller's, whose event loop only sees the messages.
 */
export function backupOnThread(path: string, dest: string, progress?: (done: number, total: number) => void): Promise<BackupReport> {
  return new Promise((resolve, reject) => {
    const job: BackupJob = { path, dest, progress: progress !== undefined };
    const worker = new Worker(SCRIPT, { workerData: job });
    let settled = false;
    worker.on('message', (m: BackupMessage) => {
      if ('progress' in m) progress?.(m.progress[0], m.progress[1]);
      else {
        settled = true;
        if ('report' in m) resolve(m.report);
        else reject(errorFromFields(m.error));
      }
    });
    worker.once('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new PmemdaxError('ERR_PMEMDAX_INTERNAL', `the backup's thread ended (exit code ${code}) before it answered`, { path }));
    });
  });
}

import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PmemdaxError, errorFromFields, type ErrorFields } from '../errors';
import type { BackupReport } from './types';

/** Set in the options of the `Pool.backup` a backup's thread makes: that one runs where it is called. */
export const ON_THIS_THREAD = Symbol('pmemdax.backupOnThisThread');
/** With ON_THIS_THREAD: an AbortSignal that ends the copy (its caller's `progress` threw), the copy removed. */
export const CANCEL = Symbol('pmemdax.backupCancel');

/** A backup the thread is asked for. */
export interface BackupJob {
  readonly id: number;
  readonly path: string;
  readonly dest: string;
  readonly progress: boolean;
}

/** What the caller's thread posts besides jobs: give up job `id` (its caller has its answer already). */
export interface BackupCancel {
  readonly cancel: number;
}

/** What the thread posts about job `id`: progress as it goes, then the report or the error. */
export type BackupMessage = { id: number } & ({ progress: [number, number] } | { report: BackupReport } | { error: ErrorFields });

// Run from the TypeScript sources (the tests), the thread runs the build: a worker cannot load .ts files.
const SCRIPT = __filename.endsWith('.ts') ? join(__dirname, '..', '..', 'dist', 'pool', 'backup-worker.js') : join(__dirname, 'backup-worker.js');

interface Waiting {
  readonly resolve: (r: BackupReport) => void;
  readonly reject: (e: unknown) => void;
  readonly progress: ((done: number, total: number) => void) | undefined;
}

/** The backups' thread, made on the first backup and kept: making a worker holds its maker's loop for milliseconds. */
let thread: { readonly worker: Worker; readonly waiting: Map<number, Waiting> } | null = null;
let nextId = 0;

function backupThread(): NonNullable<typeof thread> {
  if (thread !== null) return thread;
  const worker = new Worker(SCRIPT);
  const t = { worker, waiting: new Map<number, Waiting>() };
  const fail = (e: unknown): void => {
    if (thread === t) thread = null;
    for (const w of t.waiting.values()) w.reject(e);
    t.waiting.clear();
  };
  worker.on('message', (m: BackupMessage) => {
    const w = t.waiting.get(m.id);
    if (w === undefined) return;
    const finish = (): void => {
      t.waiting.delete(m.id);
      // Idle, the thread keeps no process alive.
      if (t.waiting.size === 0) worker.unref();
    };
    if ('progress' in m) {
      try {
        w.progress?.(m.progress[0], m.progress[1]);
      } catch (e) {
        // The caller's callback threw: its backup ends with that error (not the process), and the copy goes.
        finish();
        const cancel: BackupCancel = { cancel: m.id };
        worker.postMessage(cancel);
        w.reject(e);
      }
      return;
    }
    finish();
    if ('report' in m) w.resolve(m.report);
    else w.reject(errorFromFields(m.error));
  });
  worker.once('error', fail);
  worker.once('exit', (code) => fail(new PmemdaxError('ERR_PMEMDAX_INTERNAL', `the backups' thread ended (exit code ${code}) with backups in flight`)));
  thread = t;
  return t;
}

/**
 * `Pool.backup` on the backups' thread (backup-worker.ts): the snapshot's open (a live journal replayed, tens
 * of milliseconds for thousands of records) and the copy hold that thread, never the caller's, whose event
 * loop only posts the job and receives the answers.
 */
export function backupOnThread(path: string, dest: string, progress?: (done: number, total: number) => void): Promise<BackupReport> {
  return new Promise((resolve, reject) => {
    const t = backupThread();
    const id = nextId++;
    t.waiting.set(id, { resolve, reject, progress });
    t.worker.ref();
    const job: BackupJob = { id, path, dest, progress: progress !== undefined };
    t.worker.postMessage(job);
  });
}

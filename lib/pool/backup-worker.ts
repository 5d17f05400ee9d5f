import { parentPort } from 'node:worker_threads';
import { errorFields } from '../errors';
import { CANCEL, ON_THIS_THREAD, type BackupCancel, type BackupJob, type BackupMessage } from './backup-thread';
import { Pool } from './pool';
import type { PoolBackupOptions } from './types';

// The backups' thread (backup-thread.ts): runs each Pool.backup it is sent here, and posts what it says.
const post = (m: BackupMessage): void => parentPort?.postMessage(m);
const running = new Map<number, AbortController>();
parentPort?.on('message', (m: BackupJob | BackupCancel) => {
  if ('cancel' in m) {
    running.get(m.cancel)?.abort();
    return;
  }
  const job = m;
  const stop = new AbortController();
  running.set(job.id, stop);
  const opts: PoolBackupOptions & { [ON_THIS_THREAD]: true; [CANCEL]: AbortSignal } = {
    [ON_THIS_THREAD]: true,
    [CANCEL]: stop.signal,
    ...(job.progress ? { progress: (done: number, total: number) => post({ id: job.id, progress: [done, total] }) } : {}),
  };
  Pool.backup(job.path, job.dest, opts)
    .then(
      (report) => post({ id: job.id, report }),
      (e: unknown) => post({ id: job.id, error: errorFields(e) }),
    )
    .finally(() => running.delete(job.id));
});

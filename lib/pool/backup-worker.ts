import { parentPort } from 'node:worker_threads';
import { errorFields } from '../errors';
import { ON_THIS_THREAD, type BackupJob, type BackupMessage } from './backup-thread';
import { Pool } from './pool';
import type { PoolBackupOptions } from './types';

// The backups' thread (backup-thread.ts): runs each Pool.backup it is sent here, and posts what it says.
const post = (m: BackupMessage): void => parentPort?.postMessage(m);
parentPort?.on('message', (job: BackupJob) => {
  const opts: PoolBackupOptions & { [ON_THIS_THREAD]: true } = {
    [ON_THIS_THREAD]: true,
    ...(job.progress ? { progress: (done: number, total: number) => post({ id: job.id, progress: [done, total] }) } : {}),
  };
  Pool.backup(job.path, job.dest, opts).then(
    (report) => post({ id: job.id, report }),
    (e: unknown) => post({ id: job.id, error: errorFields(e) }),
  );
});

import { parentPort, workerData } from 'node:worker_threads';
import { errorFields } from '../errors';
import { ON_THIS_THREAD, type BackupJob, type BackupMessage } from './backup-thread';
import { Pool } from './pool';
import type { PoolBackupOptions } from './types';

// A backup's thread (backup-thread.ts): runs one Pool.backup here and posts what it says.
const job = workerData as BackupJob;
const post = (m: BackupMessage): void => parentPort?.postMessage(m);
const opts: PoolBackupOptions & { [ON_THIS_THREAD]: true } = {
  [ON_THIS_THREAD]: true,
  ...(job.progress ? { progress: (done: number, total: number) => post({ progress: [done, total] }) } : {}),
};
Pool.backup(job.path, job.dest, opts).then(
  (report) => post({ report }),
  (e: unknown) => post({ error: errorFields(e) }),
);

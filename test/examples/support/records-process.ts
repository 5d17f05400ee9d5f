// The records service example as a child process, and a small HTTP client for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../support/scratch';

const SERVER = join(PROJECT_ROOT, 'examples', 'records-service', 'server.js');

export interface Reply {
  readonly status: number;
  readonly body: Buffer;
}

export interface Service {
  readonly child: ChildProcess;
  readonly port: number;
  /** Everything the service printed so far. */
  output(): string;
  /** The exit code or signal, once it has ended. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  send(method: string, path: string, body?: Buffer): Promise<Reply>;
}

/**
 * Starts `node server.js` on `poolPath` (with `env` added: WORKERS=N for the cluster mode) and resolves once
 * it listens (in the cluster mode: once a worker does). The example requires 'pmemdax' as an
 * application does; inside this checkout Node resolves that name to the package itself (a package may
 * require itself by its own name through its "exports"), so dist/ and the built addon are what it loads.
 */
export function startService(poolPath: string, env: Record<string, string> = {}): Promise<Service> {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, POOL_PATH: poolPath, POOL_SIZE: String(64 * 1024 * 1024), PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // Keep-alive connections, so that a kill finds requests in flight on open sockets rather than in connects.
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return new Promise((resolve, reject) => {
    const onData = (): void => {
      const port = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text)?.[1];
      if (port === undefined) return;
      child.stdout.off('data', onData);
      resolve({
        child,
        port: Number(port),
        exit,
        output: () => text,
        send: (method, path, body) => send(agent, Number(port), method, path, body),
      });
    };
    child.stdout.on('data', onData);
    void exit.then(({ code, signal }) => reject(new Error(`the service ended before listening (${code ?? signal}):\n${text}`)));
  });
}

function send(agent: Agent, port: number, method: string, path: string, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

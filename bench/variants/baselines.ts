/**
 * The three baselines: the upstream itself, nginx injecting a static header, and the bare Node proxy.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { childPids } from '../lib/proc.js';
import { freePort, isListening, spawnChild, tsNodeArgs } from '../lib/child.js';
import { REPO_ROOT } from '../lib/latchkey.js';
import type { Upstream, Variant } from './types.js';

/** The request path every variant sends to the upstream. */
export const UPSTREAM_PATH = '/v1/balance';
/** nginx worker processes (one per core of the reference machine). */
export const NGINX_WORKERS = 2;

const listeningPort = (stdout: string): number | undefined => {
  const m = /^LISTENING (\d+)$/m.exec(stdout);
  return m ? Number(m[1]) : undefined;
};

/** Starts the upstream (`bench/upstream.ts`) in its own process. */
export async function startUpstream(): Promise<Upstream> {
  const child = await spawnChild(
    'upstream',
    process.execPath,
    tsNodeArgs(path.join(REPO_ROOT, 'bench', 'upstream.ts')),
    {
      cwd: REPO_ROOT,
      ready: ({ stdout }) => listeningPort(stdout) !== undefined,
    },
  );
  const port = listeningPort(child.stdout())!;
  return { child, port, origin: `http://127.0.0.1:${port}` };
}

/** direct: the client calls the upstream itself (its CPU is the upstream's). */
export function directVariant(up: Upstream): Variant {
  return {
    name: 'direct',
    description: 'client → upstream (no proxy)',
    origin: up.origin,
    request: { method: 'GET', path: UPSTREAM_PATH, headers: {} },
    serverPids: () => [up.child.pid],
    children: [up.child],
    stop: async () => {},
  };
}

/** The nginx configuration: static `Authorization` header, HTTP/1.1 keep-alive pool to the upstream. */
export function nginxConfig(dir: string, port: number, upstreamPort: number): string {
  return `worker_processes ${NGINX_WORKERS};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream bench_upstream {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer bench-static-token";
    }
  }
}
`;
}

/**
 * nginx from Debian's packages (`apt-get install nginx-light`), config generated into a temp dir,
 * run in the foreground as a child process (`nginx -p dir -c nginx.conf -g 'daemon off;'`).
 *
 * @throws Error when nginx is not installed or does not start.
 */
export async function nginxVariant(up: Upstream, nginxBin: string): Promise<Variant> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lk-bench-nginx-'));
  // Workers may run as an unprivileged user: let them reach the temp paths.
  chmodSync(dir, 0o755);
  mkdirSync(path.join(dir, 'logs'));
  const port = await freePort();
  writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(dir, port, up.port));
  const child = await spawnChild(
    'nginx',
    nginxBin,
    ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'],
    { ready: () => isListening(port), timeoutMs: 15_000 },
  );
  return {
    name: 'nginx',
    description: `nginx, static Authorization header, upstream keepalive 64, ${NGINX_WORKERS} workers`,
    origin: `http://127.0.0.1:${port}`,
    request: { method: 'GET', path: UPSTREAM_PATH, headers: {} },
    serverPids: () => [child.pid, ...childPids(child.pid)],
    children: [child],
    stop: async () => {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bare Node proxy (`bench/bare-proxy.ts`) in its own process. */
export async function bareVariant(up: Upstream): Promise<Variant> {
  const port = await freePort();
  const child = await spawnChild(
    'bare-proxy',
    process.execPath,
    tsNodeArgs(path.join(REPO_ROOT, 'bench', 'bare-proxy.ts')).concat([String(port), up.origin]),
    { cwd: REPO_ROOT, ready: ({ stdout }) => listeningPort(stdout) !== undefined },
  );
  const grantId = /^GRANTS ([^,\n]+)/m.exec(child.stdout())?.[1] ?? '';
  return {
    name: 'bare',
    description: 'node:http + Map lookup + AES-256-GCM open + undici Pool.stream()',
    origin: `http://127.0.0.1:${port}`,
    request: { method: 'GET', path: UPSTREAM_PATH, headers: { 'latchkey-grant-id': grantId } },
    serverPids: () => [child.pid],
    loopPid: child.pid,
    children: [child],
    stop: () => child.stop(),
  };
}

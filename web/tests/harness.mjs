// The e2e harness: finds (or starts) a Sprout server, serves the built app next to it
// when the server does not serve it itself, and launches the system Chromium.
//
//   SPROUT_URL=http://127.0.0.1:8080 npm run test:e2e   # a running server
//   SPROUT_BIN=/path/to/sprout npm run test:e2e          # starts `sprout demo` itself
//
// When SPROUT_URL/ already serves the app (its page has <meta name="sprout-app">), the
// tests use it directly; otherwise a small static server serves web/dist and proxies
// /api (WebSocket upgrades included), /healthz and /readyz to the Sprout server.

import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../scripts/browser.mjs';

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST_DIR = join(WEB_DIR, 'dist');
export const SCREENSHOT_DIR = join(WEB_DIR, 'screenshots');
export const DEMO_EMAIL = 'parent@demo.sprout';
export const DEMO_PASSWORD = 'sprout-demo';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------
// The Sprout server

/** A `sprout demo` child process that can be restarted on the same port and data. */
class DemoServer {
  constructor(bin) {
    this.bin = bin;
    this.dataDir = mkdtempSync(join(tmpdir(), 'sprout-web-e2e-'));
    this.addr = '127.0.0.1:0';
    this.proc = null;
    this.url = null;
  }

  async start() {
    const proc = spawn(this.bin, ['demo', '--addr', this.addr, '--data-dir', this.dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
    });
    this.proc = proc;
    let stderr = '';
    proc.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    const url = await new Promise((resolveUrl, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`sprout demo printed no URL in 120 s\n${out}\n${stderr}`)),
        120_000,
      );
      proc.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/https?:\/\/[^\s]+/);
        if (m) {
          clearTimeout(timer);
          resolveUrl(m[0].replace(/\/$/, ''));
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sprout demo exited with ${code}\n${out}\n${stderr}`));
      });
    });
    proc.stdout.resume();
    this.url = url;
    this.addr = new URL(url).host; // a restart reuses the port
    await waitHealthy(url);
    return url;
  }

  async stop() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    this.proc = null;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async restart() {
    await this.stop();
    // The port may linger for a moment.
    for (let i = 0; ; i++) {
      try {
        return await this.start();
      } catch (err) {
        if (i >= 10) throw err;
        await sleep(500);
      }
    }
  }

  cleanup() {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

async function waitHealthy(url, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`${url}/healthz did not answer in time`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------
// Static files + proxy

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

const PROXIED = /^\/(api|healthz|readyz|metrics)(\/|\?|$)/;

export function startAppServer(getTarget) {
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (PROXIED.test(req.url)) {
      const target = new URL(getTarget());
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"bad_gateway","message":"the Sprout server is not reachable"}}');
      });
      req.pipe(upstream);
      return;
    }
    let file = normalize(join(DIST_DIR, path === '/' ? 'index.html' : path));
    if (!file.startsWith(DIST_DIR + sep) || !existsSync(file) || statSync(file).isDirectory()) {
      file = join(DIST_DIR, 'index.html');
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    createReadStream(file).pipe(res);
  });
  // WebSocket upgrades: pass the raw bytes both ways.
  server.on('upgrade', (req, socket, head) => {
    const target = new URL(getTarget());
    const upstream = net.connect(Number(target.port), target.hostname, () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i];
        const value = name.toLowerCase() === 'host' ? target.host : req.rawHeaders[i + 1];
        raw += `${name}: ${value}\r\n`;
      }
      upstream.write(`${raw}\r\n`);
      if (head?.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    upstream.on('error', close);
    socket.on('error', close);
    upstream.on('close', close);
    socket.on('close', close);
  });
  return new Promise((resolveServer) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolveServer({ server, url: `http://127.0.0.1:${port}` });
    });
  });
}

async function servesApp(url) {
  try {
    const res = await fetch(`${url}/`);
    const text = await res.text();
    return res.ok && /<meta\s+name=["']sprout-app["']/i.test(text);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------
// Setup

/**
 * Everything a test needs: `apiUrl` (the Sprout server), `appUrl` (where the app is
 * served), `browser`, `restartServer()` when this harness started the server, and
 * `close()`.
 */
export async function setup() {
  let demo = null;
  let apiUrl = process.env.SPROUT_URL?.replace(/\/$/, '');
  if (!apiUrl) {
    const bin = process.env.SPROUT_BIN;
    if (!bin) throw new Error('set SPROUT_URL (a running server) or SPROUT_BIN (a sprout binary)');
    demo = new DemoServer(resolve(bin));
    apiUrl = await demo.start();
  } else {
    await waitHealthy(apiUrl, 10_000);
  }

  let appUrl = apiUrl;
  let proxy = null;
  const embedded = await servesApp(apiUrl);
  if (!embedded) {
    if (!existsSync(join(DIST_DIR, 'index.html'))) {
      throw new Error('web/dist is missing: run `npm run build` first');
    }
    proxy = await startAppServer(() => (demo ? demo.url : apiUrl));
    appUrl = proxy.url;
  }
  console.log(
    `# Sprout API at ${apiUrl}; app at ${appUrl} (${embedded ? 'served by Sprout' : 'web/dist through the test proxy'})`,
  );

  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const { browser, close: closeBrowser } = await launchBrowser();

  const ctx = {
    apiUrl,
    appUrl,
    embedded,
    browser,
    canRestart: demo !== null,
    async restartServer() {
      if (!demo) throw new Error('the server was not started by the harness');
      await demo.restart();
      ctx.apiUrl = demo.url;
      if (embedded) ctx.appUrl = demo.url;
    },
    async close() {
      await closeBrowser();
      proxy?.server.close();
      proxy?.server.closeAllConnections?.();
      if (demo) {
        await demo.stop();
        demo.cleanup();
      }
    },
  };
  return ctx;
}

// ---------------------------------------------------------------------------------
// API helpers for the tests

export async function apiLogin(apiUrl) {
  const res = await fetch(`${apiUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: DEMO_EMAIL, password: DEMO_PASSWORD }),
  });
  if (!res.ok) throw new Error(`login failed: ${res.status}`);
  return (await res.json()).token;
}

export async function apiCall(apiUrl, token, method, path, body) {
  const res = await fetch(`${apiUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json };
}

/** True when the answer is the API's 404 for a route it does not have. */
export function routeMissing(answer) {
  return (
    (answer.status === 404 &&
      answer.json?.error?.code === 'not_found' &&
      /route/i.test(answer.json?.error?.message ?? '')) ||
    answer.status === 405
  );
}

#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

/*
 * The metadata proxy daemon, started by the agent inside a router's or DHCP server's namespace:
 *
 *   ip netns exec <ns> node proxy-main.js --config=<file> --pid-file=<file> --socket=<forwarder> --log-file=<file> --daemon
 *
 * It listens on [::]:80 (IPv4 too) and writes its pid file once it listens. With --daemon it
 * starts itself again detached (the same arguments without --daemon, output to the log file)
 * and exits 0 when that child has written its pid file, so the command that started it
 * returns, as dnsmasq's and BIRD's do.
 */

const PORT = 80;
const START_TIMEOUT_MS = 10_000;

const log = (line: string): void => {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
};

function options(): { config: string; pidFile: string; socket: string; logFile: string; daemon: boolean } {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      'pid-file': { type: 'string' },
      socket: { type: 'string' },
      'log-file': { type: 'string' },
      daemon: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const required = (name: string, value: string | undefined): string => {
    if (value === undefined || !value.startsWith('/')) throw new Error(`--${name}=<absolute path> is required`);
    return value;
  };
  return {
    config: required('config', values.config),
    pidFile: required('pid-file', values['pid-file']),
    socket: required('socket', values.socket),
    logFile: required('log-file', values['log-file']),
    daemon: values.daemon,
  };
}

/** The end of the log, for the starter's error message (the agent shows it in its report). */
function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-800).trim();
  } catch {
    return '';
  }
}

function daemonize(pidFile: string, logFile: string): void {
  const out = openSync(logFile, 'a', 0o600);
  const script = process.argv[1] ?? '';
  const child = spawn(process.execPath, [script, ...process.argv.slice(2).filter((a) => a !== '--daemon')], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  const started = Date.now();
  const fail = (why: string): void => {
    process.stderr.write(`metadata proxy ${why} (see ${logFile}): ${logTail(logFile)}\n`);
    process.exit(1);
  };
  child.on('exit', (code, signal) => fail(`exited (${signal ?? String(code)}) before it listened`));
  child.on('error', (error) => fail(`could not be started: ${error.message}`));
  const poll = (): void => {
    void readFile(pidFile, 'utf8')
      .catch(() => '')
      .then((text) => {
        if (text.trim() === String(child.pid)) {
          child.unref();
          process.exit(0);
        }
        if (Date.now() - started > START_TIMEOUT_MS) {
          child.kill('SIGKILL');
          fail(`did not listen within ${START_TIMEOUT_MS} ms`);
        }
        setTimeout(poll, 50);
      });
  };
  poll();
}

async function serve(config: string, pidFile: string, socket: string): Promise<void> {
  // Loaded here, not at the top: the --daemon starter needs none of it, and loading it was
  // about half of that process's CPU (a host's cold start starts one per router).
  const [{ EndpointsFile, createMetadataProxy }, { NodeDaemonHost }] = await Promise.all([import('./proxy.js'), import('../daemon/host.js')]);
  const endpoints = new EndpointsFile(config, log);
  await endpoints.load();
  const server = createMetadataProxy({ endpoints, forwardSocket: socket, log });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '::', port: PORT, ipv6Only: false }, resolve);
  });
  server.on('error', (error) => log(`server error: ${error.message}`));
  // written only now: the pid file says "listening" to the starter and to the agent
  await new NodeDaemonHost().writeFileAtomic(pidFile, `${process.pid}\n`);
  log(`listening on [::]:${PORT} for 169.254.169.254 and fe80::a9fe:a9fe, forwarding to ${socket}`);
  process.on('SIGTERM', () => {
    log('SIGTERM: stopping');
    process.exit(0);
  });
}

try {
  const o = options();
  if (o.daemon) daemonize(o.pidFile, o.logFile);
  else
    serve(o.config, o.pidFile, o.socket).catch((error: unknown) => {
      log(`not started: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
} catch (error) {
  process.stderr.write(`metadata proxy: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}

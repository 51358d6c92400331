#!/usr/bin/env node
// @ts-check
// The port-creation benchmark (bench/ipam) against this project's stack and against a real
// neutron-server, in one run, and the ratio of the two: on a shared, noisy machine the ratio
// moves much less than either figure.
//
//   node bench/compare/run.mjs [--ports N] [--concurrency C]
//
// neutron-server is Debian's (`apt-get install neutron-server neutron-plugin-ml2`): ML2 with
// VXLAN tenant networks and no mechanism driver (no agents to bind to), the router plugin,
// noauth, its own fresh PostgreSQL database, an in-process fake RPC transport, its default
// number of API workers. Without it the run measures this project's stack alone and says so.
// See README.md beside this file.

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseBenchOptions, intOption } from '../lib/options.mjs';
import { errorText, machineSummary, saveResult, waitUntil } from '../lib/stack-bench.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
const IPAM_BENCH = path.join(REPO_ROOT, 'bench/ipam/run.mjs');
const run = promisify(execFile);

const COMMAND = 'node bench/compare/run.mjs';
const OPTIONS = {
  ports: intOption('ports per phase, on each server', 1000, 1),
  concurrency: intOption('concurrent clients in the second phase', 8, 1),
};

/** Where Debian puts them; PATH is searched too. */
const NEUTRON_COMMANDS = ['neutron-server', 'neutron-db-manage'];

/** @param {string} command */
function onPath(command) {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  return dirs.map((d) => path.join(d, command)).find((p) => existsSync(p)) ?? null;
}

/** @param {number} port @param {string} dir @param {string} databaseUrl */
function neutronConfig(port, dir, databaseUrl) {
  return [
    '[DEFAULT]',
    'auth_strategy = noauth',
    'core_plugin = ml2',
    'service_plugins = router',
    'bind_host = 127.0.0.1',
    `bind_port = ${port}`,
    // nothing listens for RPC (no agents): the in-process fake transport, no RPC workers
    'transport_url = fake:/',
    'rpc_workers = 0',
    'rpc_state_report_workers = 0',
    'notify_nova_on_port_status_changes = False',
    'notify_nova_on_port_data_changes = False',
    'api_paste_config = /etc/neutron/api-paste.ini',
    `state_path = ${dir}/state`,
    `log_file = ${dir}/neutron-server.log`,
    '[database]',
    `connection = ${databaseUrl}`,
    '[oslo_concurrency]',
    `lock_path = ${dir}/lock`,
    // as this project's stack runs here (UNLIMITED_QUOTAS): the work, not the refusals (Neutron's default is 500 ports)
    '[quotas]',
    ...['network', 'subnet', 'port', 'router', 'floatingip', 'security_group', 'security_group_rule'].map((kind) => `quota_${kind} = -1`),
    '',
  ].join('\n');
}

const ML2_CONFIG = [
  '[ml2]',
  'type_drivers = flat,vxlan',
  'tenant_network_types = vxlan',
  'mechanism_drivers =',
  'extension_drivers = port_security',
  '[ml2_type_vxlan]',
  'vni_ranges = 1:100000',
  '',
].join('\n');

/**
 * A neutron-server on a fresh database, answering on `url`; `stop` kills it and drops the database.
 * @param {string} dir
 */
async function startNeutron(dir) {
  const testing = await import('@ncp/testing');
  const infra = await testing.testInfra();
  const database = await testing.createTestDatabase(infra.databaseUrl, 'neutron_bench_');
  const port = await testing.stablePort();
  const conf = path.join(dir, 'neutron.conf');
  const ml2 = path.join(dir, 'ml2_conf.ini');
  writeFileSync(conf, neutronConfig(port, dir, database.url.replace(/^postgres(ql)?:/, 'postgresql+psycopg2:')));
  writeFileSync(ml2, ML2_CONFIG);
  const configArgs = ['--config-file', conf, '--config-file', ml2];
  process.stderr.write(`neutron: migrating database ${database.name}...\n`);
  await run('neutron-db-manage', [...configArgs, 'upgrade', 'heads'], { maxBuffer: 64 * 2 ** 20 });
  const child = spawn('neutron-server', configArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + String(d)).slice(-4000)));
  child.on('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (!exited) child.kill('SIGKILL');
    }
    await database.drop();
  };
  try {
    await waitUntil(
      'neutron-server answering',
      async () => {
        if (exited) throw new Error(`neutron-server exited: ${stderr}`);
        return (await fetch(`${url}/`).catch(() => null))?.status === 200;
      },
      120_000,
      { pollMs: 250 },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  const { stdout: version } = await run('dpkg-query', ['-W', '-f', '${Version}', 'neutron-server']).catch(() => ({ stdout: 'unknown' }));
  return { url, stop, version, database: database.name };
}

/**
 * The IPAM benchmark as a child, its report read back.
 * @param {string[]} args
 * @param {string} out
 */
async function ipamBench(args, out) {
  const child = spawn(process.execPath, [IPAM_BENCH, ...args, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'], cwd: REPO_ROOT });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  if (!existsSync(out)) throw new Error(`bench/ipam exited ${String(code)} without a report`);
  return JSON.parse(readFileSync(out, 'utf8'));
}

/** @param {any} report one phase's figures of a bench/ipam report, by phase name */
const phasesOf = (report) => Object.fromEntries(report.phases.map((/** @type {any} */ p) => [p.phase, p]));

/** @param {number} a @param {number} b */
const ratio = (a, b) => (b > 0 ? Math.round((a / b) * 10) / 10 : null);

async function main() {
  const opts = parseBenchOptions(process.argv.slice(2), COMMAND, OPTIONS);
  const at = new Date().toISOString();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ncp-bench-compare-'));
  const common = ['--ports', String(opts.ports), '--concurrency', String(opts.concurrency)];
  const loadBefore = os.loadavg();
  try {
    process.stderr.write('== this project (TestStack: gateway, IPAM, fresh database and NATS prefix)\n');
    const ours = await ipamBench(common, path.join(dir, 'ours.json'));
    const missing = NEUTRON_COMMANDS.filter((c) => !onPath(c));
    /** @type {any} */
    let neutron = null;
    /** @type {string | null} */
    let neutronVersion = null;
    if (missing.length > 0) {
      process.stderr.write(`== no neutron-server here (${missing.join(', ')} not found; apt-get install neutron-server neutron-plugin-ml2): no ratio\n`);
    } else {
      process.stderr.write('== neutron-server (Debian; ML2/VXLAN, noauth, PostgreSQL)\n');
      const server = await startNeutron(dir);
      neutronVersion = server.version;
      try {
        neutron = await ipamBench([...common, '--url', server.url], path.join(dir, 'neutron.json'));
      } finally {
        await server.stop();
      }
    }
    const rows = ours.phases.map((/** @type {any} */ p) => {
      // a phase with failed requests has no figure to compare
      const theirs = neutron && p.errors === 0 ? phasesOf(neutron)[p.phase] : undefined;
      return {
        phase: `${p.phase} (${p.clients} client${p.clients === 1 ? '' : 's'})`,
        'ours ports/s': p.ports_per_s,
        'neutron ports/s': theirs?.ports_per_s ?? null,
        'ratio (throughput)': theirs?.errors === 0 ? ratio(p.ports_per_s, theirs.ports_per_s) : null,
        'ours p99 ms': p.latency_ms.p99,
        'neutron p99 ms': theirs?.latency_ms.p99 ?? null,
        'ratio (p99, theirs/ours)': theirs?.errors === 0 ? ratio(theirs.latency_ms.p99, p.latency_ms.p99) : null,
      };
    });
    console.log(`\nport creation, ${opts.ports} ports per phase, this project vs neutron-server ${neutronVersion ?? '(not installed)'}`);
    console.table(rows);
    const ok = ours.ok && (neutron === null || neutron.ok);
    if (!ours.ok) console.log(`this project's run failed its checks: ${ours.failures.join('; ')}`);
    if (neutron && !neutron.ok) console.log(`neutron-server's run failed its checks: ${neutron.failures.join('; ')}`);
    const result = {
      at,
      machine: machineSummary(),
      load: { before: loadBefore, after: os.loadavg() },
      options: opts,
      neutron_server: neutronVersion,
      rows,
      ours: { ok: ours.ok, failures: ours.failures, phases: ours.phases, cpu: ours.cpu, git: ours.git },
      neutron: neutron ? { ok: neutron.ok, failures: neutron.failures, phases: neutron.phases, cpu: neutron.cpu } : null,
    };
    saveResult(HERE, result);
    process.exitCode = ok ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(errorText(e));
  process.exit(1);
});

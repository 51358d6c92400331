#!/usr/bin/env node
// @ts-check
// What authentication adds to a request, against a real Keystone (Debian's python3-keystone).
//
//   node bench/auth/run.mjs [--requests N]
//
// 1. Starts a Keystone of its own (TestKeystone: a database of its own on the local Postgres),
//    a `neutron` service user and a member of a demo project.
// 2. Cold: the first validation of each of 50 fresh tokens (a round trip to Keystone each, the
//    service's own login paid once before).
// 3. Warm: N validations of a token already validated, through the edge middleware itself
//    (header stripping, the cache lookup, the identity headers set): the cost every request pays
//    at each hop (the gateway and the service behind it), as p50/p99 in microseconds.
// 4. The same N requests through the middleware with AUTH_STRATEGY=noauth, as the baseline.
// See README.md beside this file.

import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { z } from 'zod';
import { authConfigShape, authenticationMiddleware, authenticationOf } from '@ncp/nest-common';
import { TestKeystone } from '@ncp/testing';
import { intOption, parseBenchOptions } from '../lib/options.mjs';
import { percentile } from '../lib/stack-bench.mjs';

const COMMAND = 'node bench/auth/run.mjs';
const OPTIONS = { requests: intOption('warm requests per mode', 100_000, 1) };
const opts = parseBenchOptions(process.argv.slice(2), COMMAND, OPTIONS);
const logger = pino({ level: 'silent' });

/** @param {number[]} samples microseconds */
const summary = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50_us: round(percentile(sorted, 50)), p99_us: round(percentile(sorted, 99)), max_us: round(sorted[sorted.length - 1] ?? 0) };
};
/** @param {number} x */
const round = (x) => Math.round(x * 100) / 100;

/**
 * One request through the middleware, as Express would hand it on.
 * @param {ReturnType<typeof authenticationMiddleware>} middleware
 * @param {Record<string, string>} headers
 * @returns {Promise<number>} microseconds
 */
function timed(middleware, headers) {
  const req = { url: '/v2.0/ports', headers: { ...headers, 'x-project-id': 'forged', 'x-roles': 'admin' } };
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    middleware(req, { setHeader: () => undefined }, (err) => (err ? reject(err) : resolve((performance.now() - t0) * 1000))),
  );
}

const keystone = await TestKeystone.start();
try {
  const demo = { user: 'demo', password: 'demo-pw', project: 'demo' };
  await keystone.createUser(demo, 'member');
  // the settings a service reads, with their defaults (TOKEN_CACHE_TTL_SECONDS 300)
  const auth = authenticationOf(z.object(authConfigShape).parse(keystone.serviceEnv()), logger);
  const keystoneEdge = authenticationMiddleware(auth);
  const openEdge = authenticationMiddleware({ strategy: 'noauth' });

  // the service's own login, paid once per process
  const first = await keystone.token(demo);
  const login = await timed(keystoneEdge, { 'x-auth-token': first });
  const cold = [];
  for (let i = 0; i < 50; i++) cold.push(await timed(keystoneEdge, { 'x-auth-token': await keystone.token(demo) }));

  const warmToken = await keystone.token(demo);
  await timed(keystoneEdge, { 'x-auth-token': warmToken });
  // a warm-up of the JIT for both paths, not counted
  for (let i = 0; i < 10_000; i++) {
    await timed(keystoneEdge, { 'x-auth-token': warmToken });
    await timed(openEdge, {});
  }
  const warm = [];
  const open = [];
  for (let i = 0; i < opts.requests; i++) {
    warm.push(await timed(keystoneEdge, { 'x-auth-token': warmToken }));
    open.push(await timed(openEdge, {}));
  }
  const warmSummary = summary(warm);
  const openSummary = summary(open);
  const result = {
    keystone: 'Debian python3-keystone (keystone-wsgi-public, fernet tokens, Postgres)',
    first_validation_with_service_login_ms: round(login / 1000),
    cold_validation: summary(cold),
    warm_cache: warmSummary,
    noauth_baseline: openSummary,
    added_p99_per_hop_us: round(warmSummary.p99_us - openSummary.p99_us),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await keystone.stop();
}

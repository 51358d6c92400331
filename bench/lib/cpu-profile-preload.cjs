// @ts-check
// Loaded into each service (NODE_OPTIONS=--require) by a benchmark run with --profile: SIGWINCH
// starts V8's sampling profiler, the next SIGWINCH stops it and writes
// <NCP_PROFILE_DIR>/<service>-<n>.cpuprofile (Chrome DevTools and speedscope open it).
// SIGWINCH because a process without the preload ignores it; Nest's shutdown hooks take
// SIGUSR2 as a shutdown, and SIGUSR1 opens the inspector.
'use strict';
const fs = require('node:fs');
const inspector = require('node:inspector');
const path = require('node:path');

const dir = process.env.NCP_PROFILE_DIR;
const service = /\/apps\/([^/]+)\/dist\/main\.js$/.exec(process.argv[1] ?? '')?.[1];
if (dir && service) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  let running = false;
  let written = 0;
  process.on('SIGWINCH', () => {
    if (!running) {
      running = true;
      session.post('Profiler.start');
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      written += 1;
      fs.writeFileSync(path.join(dir, `${service}-${written}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { readBucket } from '@ncp/eventstore';
const nc = await connect({ servers: '127.0.0.1:4222' });
const name = 'kvt_' + Date.now();
const kv = await new Kvm(nc).create(name, { history: 1 });
await kv.put('row-a.h1', 'x');
await kv.put('row-a.h2', 'x');
await kv.delete('row-a.h2');
const t = setInterval(() => kv.put('row-a.h1', String(Date.now())).catch(() => {}), 20);
let hung = 0;
for (let i = 0; i < 100; i++) {
  const p = readBucket(nc, name, '>');
  const r = await Promise.race([p, new Promise((r) => setTimeout(() => r('TIMEOUT'), 3000))]);
  if (r === 'TIMEOUT') hung++;
}
console.log('hung', hung, 'of 100');
clearInterval(t);
await kv.destroy();
await nc.close();
process.exit(0);

#!/usr/bin/env node
// Load generator for dns-server.bench.mjs, run as its own process so the server's CPU is measured alone.
// Usage: node dns-server-load.mjs <host> <port> <udp|tcp> <durationMs> <window> <qtype> <name>...
// A name containing {i} expands to <count> names: `job-{i}.svc...:1024`. Keeps <window> queries in flight,
// prints one JSON line: { sent, received, ms }.
import dgram from 'node:dgram';
import net from 'node:net';

const [host, portText, transport, durationText, windowText, qtypeText, ...patterns] = process.argv.slice(2);
const port = Number(portText);
const durationMs = Number(durationText);
const window = Number(windowText);
const qtype = { A: 1, AAAA: 28, SRV: 33 }[qtypeText] ?? 1;

const names = [];
for (const p of patterns) {
  const [pattern, countText] = p.split(':');
  if (pattern.includes('{i}'))
    for (let i = 0; i < Number(countText); i++) names.push(pattern.replace('{i}', String(i)));
  else names.push(pattern);
}

/** A query with EDNS0 (1232) for `name`; the id is patched per send. */
function encodeQuery(name) {
  const labels = name.split('.');
  const qname = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
  const header = Buffer.from([0, 0, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(qtype, 0);
  q.writeUInt16BE(1, 2);
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, qname, q, opt]);
}
const queries = names.map(encodeQuery);

let sent = 0;
let received = 0;
let next = 0;
const start = performance.now();
const deadline = start + durationMs;

function nextQuery() {
  const q = queries[next++ % queries.length];
  q.writeUInt16BE(sent & 0xffff, 0);
  sent++;
  return q;
}

function finish(close) {
  const ms = performance.now() - start;
  close();
  process.stdout.write(`${JSON.stringify({ sent, received, ms })}\n`);
}

if (transport === 'udp') {
  const socket = dgram.createSocket('udp4');
  socket.connect(port, host, () => {
    let done = false;
    const pump = () => {
      if (performance.now() >= deadline) {
        if (!done) {
          done = true;
          finish(() => socket.close());
        }
        return;
      }
      socket.send(nextQuery());
    };
    socket.on('message', () => {
      received++;
      pump();
    });
    for (let i = 0; i < window; i++) pump();
    // Lost datagrams would shrink the window: top it up now and then.
    const refill = setInterval(() => {
      if (done) return clearInterval(refill);
      const missing = window - (sent - received);
      for (let i = 0; i < missing; i++) pump();
    }, 50);
    setTimeout(() => {
      clearInterval(refill);
      if (!done) {
        done = true;
        finish(() => socket.close());
      }
    }, durationMs + 500);
  });
} else {
  const socket = net.connect(port, host, () => {
    let buffered = Buffer.alloc(0);
    let done = false;
    const pump = () => {
      if (performance.now() >= deadline) {
        if (!done && sent === received) {
          done = true;
          finish(() => socket.destroy());
        }
        return;
      }
      const q = nextQuery();
      const framed = Buffer.allocUnsafe(q.length + 2);
      framed.writeUInt16BE(q.length, 0);
      q.copy(framed, 2);
      socket.write(framed);
    };
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      let offset = 0;
      while (buffered.length - offset >= 2 && buffered.length - offset - 2 >= buffered.readUInt16BE(offset)) {
        offset += 2 + buffered.readUInt16BE(offset);
        received++;
        pump();
      }
      buffered = buffered.subarray(offset);
    });
    for (let i = 0; i < window; i++) pump();
  });
}

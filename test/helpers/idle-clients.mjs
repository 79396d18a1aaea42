// Idle TCP clients for the admission tests: `node idle-clients.mjs <host> <port> <count> <sources> <reconnect> <ms> [<job> <v>]`.
// With <job> and <v> each connection sends a valid-looking hello (that job, protocol version v) at once and
// then stalls (never sends `auth`).
// Opens <count> connections spread over the comma-separated source addresses, sends nothing, and (with
// reconnect=1) opens a new one whenever one closes (by the coordinator: the clients read what it sends, so
// they see its FIN at once and close their end). Prints `ready` once every connection was open at least
// once, then `done <opened> <closedByPeer>` when <ms> have passed or on SIGTERM (and exits). Bounded: at most 100000 opens.
import { connect } from 'node:net';

const [host, portText, countText, sourcesText, reconnectText, msText, helloJob, helloVersion] =
  process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const sources = sourcesText.split(',');
const reconnect = reconnectText === '1';
const MAX_OPENS = 100_000;
let opened = 0;
let connected = 0;
let closedByPeer = 0;
let stopping = false;
let ready = false;
let hellos = 0;

/** A length-prefixed JSON frame, as src/rendezvous/frames.ts writes them. */
function frame(message) {
  const body = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}
const sockets = new Set();

function open(slot) {
  if (stopping || opened >= MAX_OPENS) return;
  opened++;
  const socket = connect({ host, port, localAddress: sources[slot % sources.length] });
  sockets.add(socket);
  socket.on('error', () => {});
  // Read (and drop) what the coordinator sends: without a reader its `busy` and FIN are never seen, the
  // socket never closes, and nothing reconnects.
  socket.resume();
  socket.on('connect', () => {
    connected++;
    if (helloJob !== undefined) {
      socket.write(
        frame({
          v: Number(helloVersion),
          type: 'hello',
          job: helloJob,
          index: 1,
          incarnation: `stall-${hellos++}`,
          purpose: 'join',
          nonce: 'n',
        }),
      );
    }
    if (!ready && connected >= count) {
      ready = true;
      process.stdout.write('ready\n');
    }
  });
  socket.on('end', () => socket.end());
  socket.on('close', () => {
    sockets.delete(socket);
    if (stopping) return;
    closedByPeer++;
    if (reconnect) setTimeout(() => open(slot), 5);
  });
}

for (let i = 0; i < count; i++) open(i);
const stop = () => {
  stopping = true;
  process.stdout.write(`done ${opened} ${closedByPeer}\n`);
  for (const s of sockets) s.destroy();
  process.exit(0);
};
setTimeout(stop, Number(msText));
process.on('SIGTERM', stop);

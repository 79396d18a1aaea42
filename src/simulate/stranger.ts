// A stranger on the agent's port: what a recycled pod IP can hold in a cluster (another workload's pod given the
// address a restarted pod freed, while a cache still serves the old record). It accepts TCP connections and
// never says a word (a dialler waits out its handshake timeout), and sends every UDP datagram back to where it
// came from (a reflector: a probe must not take its own datagram for an answer). Run by runNetnsJob's
// `restart.stranger` in a namespace holding the old address.

/** The stranger's program for `node -e` (argv[1]: the port). */
const STRANGER_SCRIPT = `
const net = require('node:net');
const dgram = require('node:dgram');
const port = Number(process.argv[1]);
const held = new Set();
let said = 0;
const tcp = net.createServer({ allowHalfOpen: true }, (s) => {
  if (said++ < 20) console.log('stranger: tcp connection from ' + s.remoteAddress + ', holding it silent');
  held.add(s);
  s.on('data', () => {});
  s.on('error', () => {});
  s.on('close', () => held.delete(s));
});
const udp = dgram.createSocket('udp4');
udp.on('message', (m, from) => udp.send(m, from.port, from.address));
udp.on('error', (e) => console.log('stranger: udp ' + e.message));
tcp.listen(port, '0.0.0.0', () =>
  udp.bind(port, '0.0.0.0', () => console.log('stranger listening on tcp and udp port ' + port)),
);
`;

/** argv of a stranger on `port` (TCP: accepts and stays silent; UDP: echoes). */
export function strangerCommand(port: number, node: string = process.execPath): readonly string[] {
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new RangeError(`Expected the stranger's port to be 1-65535, got ${String(port)}`);
  return [node, '-e', STRANGER_SCRIPT, String(port)];
}

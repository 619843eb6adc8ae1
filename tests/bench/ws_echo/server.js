// The outside baseline of the load benchmark: a WebSocket server written
// with Node's `ws` package that sends every frame straight back and does no
// other work. bench_load --echo counts each echoed frame as one turn.
//
//   node server.js [--listen HOST:PORT]     (default 127.0.0.1:0)
//
// Prints "ws-echo listening on http://HOST:PORT" once it accepts
// connections on ws://HOST:PORT/ws; stops on SIGINT or SIGTERM.
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

function parseListen(argv) {
  let listen = '127.0.0.1:0';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--listen' && i + 1 < argv.length) {
      listen = argv[++i];
    } else {
      throw new Error(`unknown argument ${argv[i]}; usage: node server.js [--listen HOST:PORT]`);
    }
  }
  const colon = listen.lastIndexOf(':');
  const port = Number(listen.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--listen wants HOST:PORT, got ${listen}`);
  }
  return { host: listen.slice(0, colon), port };
}

let address;
try {
  address = parseListen(process.argv.slice(2));
} catch (error) {
  console.error(`ws-echo: ${error.message}`);
  process.exit(2);
}

const server = http.createServer((request, response) => {
  response.writeHead(404, { 'Content-Type': 'text/plain' });
  response.end('not found\n');
});
// Same settings as backtalk's: no compression, an 8 KiB message cap.
const sockets = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false, maxPayload: 8 * 1024 });

sockets.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => socket.terminate());
});

server.on('error', (error) => {
  console.error(`ws-echo: ${error.message}`);
  process.exit(1);
});

server.listen(address.port, address.host, () => {
  const bound = server.address();
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  console.log(`ws-echo listening on http://${host}:${bound.port}`);
});

function stop() {
  for (const socket of sockets.clients) socket.close(1001, 'server stopping');
  sockets.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

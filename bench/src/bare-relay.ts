// The least a gateway can do: a node:http server that pipes each request to the upstream and the
// answer back, byte for byte, on keep-alive sockets. The benchmark runs it as the floor that any
// process in the middle pays on this machine (one more pair of hops between processes).
//   tsx bench/src/bare-relay.ts --port 18705 --upstream http://127.0.0.1:18701
import { Agent, createServer, request } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '18705' }, upstream: { type: 'string', default: 'http://127.0.0.1:18701' } },
});
const upstream = new URL(values.upstream);
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

createServer((req, res) => {
  const forward = request(
    { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  forward.on('error', () => res.destroy());
  req.pipe(forward);
}).listen(Number(values.port), '127.0.0.1', () => console.log(`bare relay on ${values.port}`));

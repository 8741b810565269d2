// The floor of the gateway benchmark (`npm run bench:gateway -- --floor`): the least any Node proxy
// does in Ostrom's place — a node:http server that forwards each request's method, path and body to
// one upstream over a keep-alive `http.Agent` and pipes the answer back, status, headers and body,
// without reading either. Two extra loopback hops, node's HTTP parser and writer on both sides, and
// nothing else: whatever Ostrom adds on top of this is Ostrom's own work.
//
// Run as its own process, like Ostrom: `node --import tsx bench/minimal-proxy.ts <upstream origin>`.
// Prints `listening on http://127.0.0.1:PORT` once ready. Benchmark tooling only: nothing in `src/`
// may import this file.
import http from "node:http";

const upstream = new URL(process.argv[2] ?? "");
// The same idle policy as Ostrom's upstream transport: an idle pooled connection is closed before the
// upstream would close it (it sends `Keep-Alive: timeout=...`), so no request is sent on a dying one.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 });
const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"]);

const server = http.createServer((request, response) => {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers))
    if (!hopByHop.has(name) && name !== "host") headers[name] = value;
  const forwarded = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers,
      agent,
    },
    (answer) => {
      const answerHeaders: http.OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(answer.headers))
        if (!hopByHop.has(name)) answerHeaders[name] = value;
      response.writeHead(answer.statusCode ?? 502, answerHeaders);
      answer.pipe(response);
    },
  );
  forwarded.on("error", () => {
    if (!response.headersSent) response.writeHead(502);
    response.end();
  });
  // The client went away before the answer ended: drop the upstream request too.
  response.on("close", () => {
    if (!response.writableFinished) forwarded.destroy();
  });
  request.pipe(forwarded);
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    server.close();
    agent.destroy();
    process.exit(0);
  });

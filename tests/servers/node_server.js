// tests/servers/node_server.js PORT: node http.createServer server answering
// `hello <counter>` (a global incremented per request).
const http = require("http");
let counter = 0;
http
  .createServer((req, res) => {
    counter++;
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end(`hello ${counter}\n`);
  })
  .listen(Number(process.argv[2]), "127.0.0.1");

// tests/servers/deno_server.ts PORT: Deno.serve server answering
// `hello <counter>` (a global incremented per request).
let counter = 0;
Deno.serve(
  { port: Number(Deno.args[0]), hostname: "127.0.0.1", onListen() {} },
  () => {
    counter++;
    return new Response(`hello ${counter}\n`, {
      headers: { "content-type": "text/plain" },
    });
  },
);

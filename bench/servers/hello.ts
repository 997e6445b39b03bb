// hello.ts - Deno.serve "Hello, World!" for bench/run.  Port from argv[0].
const port = Number(Deno.args[0] ?? 8000);
Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, () => new Response("Hello, World!"));

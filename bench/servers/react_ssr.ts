// react_ssr.ts - Deno.serve rendering a React element tree to HTML on every request, for
// bench/run's "react" workload (issue 10 section 6: a JIT that must be warmed up).
//
//   deno run --allow-net --allow-read --allow-env=NODE_ENV react_ssr.ts PORT [REACT_DIR]
//
// REACT_DIR holds node_modules/{react,react-dom} (bench/run installs them with npm into
// build/bench/react).  They are loaded with require() from that directory, so nothing is
// fetched at run time (kvmserver gives the guest no registry).  Run with NODE_ENV=production
// or React picks its slow development build.  GET /render and GET / answer the same page:
// a header, a 100-row table of a few components, a footer (about 20 KB of HTML).
import { createRequire } from "node:module";

const port = Number(Deno.args[0] ?? 8000);
const reactDir = Deno.args[1] ?? new URL("../../build/bench/react/", import.meta.url).pathname;
const require = createRequire(reactDir.endsWith("/") ? reactDir : reactDir + "/");
const React = require("react");
const { renderToString } = require("react-dom/server");
const h = React.createElement;

type Item = { id: number; name: string; price: number; stock: number; tags: string[] };

const NAMES = ["bolt", "nut", "washer", "gear", "spring", "shaft", "pulley", "bearing"];
const TAGS = ["new", "sale", "steel", "brass", "bulk", "metric"];

// The data is rebuilt per request: a renderer's real job includes it.
function items(n: number): Item[] {
  const out: Item[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      id: 1000 + i,
      name: `${NAMES[i % NAMES.length]} ${(i * 7919) % 97}`,
      price: ((i * 37) % 500) / 10 + 0.99,
      stock: (i * 13) % 40,
      tags: TAGS.filter((_, t) => (i + t) % 3 === 0),
    });
  }
  return out;
}

function Price({ value }: { value: number }) {
  return h("span", { className: value > 30 ? "price high" : "price" }, `$${value.toFixed(2)}`);
}

function Stock({ n }: { n: number }) {
  if (n === 0) return h("span", { className: "stock out" }, "out of stock");
  return h("span", { className: n < 5 ? "stock low" : "stock" }, `${n} left`);
}

function Tags({ tags }: { tags: string[] }) {
  return h("ul", { className: "tags" }, tags.map((t) => h("li", { key: t, className: `tag tag-${t}` }, t)));
}

function Row({ item, odd }: { item: Item; odd: boolean }) {
  return h(
    "tr",
    { className: odd ? "odd" : "even", "data-id": item.id },
    h("td", null, item.id),
    h("td", null, h("a", { href: `/item/${item.id}` }, item.name)),
    h("td", null, h(Price, { value: item.price })),
    h("td", null, h(Stock, { n: item.stock })),
    h("td", null, h(Tags, { tags: item.tags })),
  );
}

function Table({ rows }: { rows: Item[] }) {
  const total = rows.reduce((s, r) => s + r.price * r.stock, 0);
  return h(
    "table",
    { className: "items" },
    h("thead", null, h("tr", null, ["id", "name", "price", "stock", "tags"].map((c) => h("th", { key: c }, c)))),
    h("tbody", null, rows.map((r, i) => h(Row, { key: r.id, item: r, odd: i % 2 === 1 }))),
    h("tfoot", null, h("tr", null, h("td", { colSpan: 5 }, "stock value ", h(Price, { value: total })))),
  );
}

function Page({ title, rows }: { title: string; rows: Item[] }) {
  return h(
    "html",
    { lang: "en" },
    h("head", null, h("meta", { charSet: "utf-8" }), h("title", null, title)),
    h(
      "body",
      null,
      h("header", null, h("h1", null, title), h("nav", null, ["home", "items", "about"].map((n) => h("a", { key: n, href: `/${n}` }, n)))),
      h("main", null, h(Table, { rows })),
      h("footer", null, `${rows.length} items`),
    ),
  );
}

function render(): Response {
  const html = "<!DOCTYPE html>" + renderToString(h(Page, { title: "Parts catalogue", rows: items(100) }));
  return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
}

Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/render" || path === "/") return render();
  return new Response("not found\n", { status: 404 });
});

// Flux checker: InfluxData's Flux language server (@influxdata/flux-lsp-browser, WebAssembly)
// driven under plain node. Reads JSON lines {"id": ..., "source": "<flux>"} on stdin and writes
// JSON lines {"id": ..., "diagnostics": [...]} on stdout (LSP diagnostics: syntax and semantic);
// with "ast": true in the request, the answer also carries the parsed AST (Flux's own parser).
//
// The package is built for bundlers; under node its generated wrapper needs two fixes, applied
// here to an in-memory copy (node_modules is left untouched):
//  1. the .wasm is loaded and instantiated by this script instead of the circular ES import;
//  2. the cached memory views are refreshed whenever their buffer is not the instance memory's
//     current buffer (after memory.grow the old view is detached), not only when its length is 0.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve("@influxdata/flux-lsp-browser/package.json"));

function patchedWrapper() {
  let src = readFileSync(join(pkgDir, "flux-lsp-browser_bg.js"), "utf8");
  const importLine = "import * as wasm from './flux-lsp-browser_bg.wasm';";
  if (!src.includes(importLine)) throw new Error("unexpected flux-lsp-browser wrapper: no wasm import");
  src = src.replace(importLine, "let wasm;\nexport function __setWasm(w) { wasm = w; }");
  // Fix 2: a view is stale when it is missing or its buffer is not the memory's current buffer.
  src = src.replace(
    /if \((cached\w+Memory0)\.byteLength === 0\)/g,
    "if ($1 === undefined || $1.buffer !== wasm.memory.buffer)",
  );
  // The module-level initialisation of the views needs the instance: the getters do it lazily.
  src = src.replace(/^cached\w+Memory0 = new \w+Array\(wasm\.memory\.buffer\);$/gm, "");
  return src;
}

async function loadLsp() {
  const url = "data:text/javascript;base64," + Buffer.from(patchedWrapper()).toString("base64");
  const bindings = await import(url);
  const bytes = readFileSync(join(pkgDir, "flux-lsp-browser_bg.wasm"));
  const { instance } = await WebAssembly.instantiate(bytes, { "./flux-lsp-browser_bg.js": bindings });
  bindings.__setWasm(instance.exports);
  return bindings;
}

// The wrapper logs through console.info/log/debug, which node sends to stdout: keep stdout for the
// protocol and route every console method to stderr.
for (const level of ["log", "info", "debug", "warn", "error"]) {
  console[level] = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
}

function write(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function main() {
  const { Lsp, parse } = await loadLsp();
  const lsp = new Lsp();
  const waiting = new Map(); // uri -> resolve
  lsp.onMessage((raw) => {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (msg.method === "textDocument/publishDiagnostics") {
      const resolve = waiting.get(msg.params.uri);
      if (resolve) {
        waiting.delete(msg.params.uri);
        resolve(msg.params.diagnostics || []);
      }
    }
  });
  lsp.run().catch((err) => write({ id: null, fatal: String(err) }));
  let rpcId = 0;
  const request = (method, params) =>
    lsp.send(JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }));
  const notify = (method, params) => lsp.send(JSON.stringify({ jsonrpc: "2.0", method, params }));
  await request("initialize", { processId: process.pid, rootUri: null, capabilities: {} });
  await notify("initialized", {});
  write({ id: null, ready: true });

  let seq = 0;
  const check = async (source) => {
    const uri = `file:///ons-pipeline/query-${++seq}.flux`;
    const done = new Promise((resolve) => waiting.set(uri, resolve));
    await notify("textDocument/didOpen", {
      textDocument: { uri, languageId: "flux", version: 1, text: source },
    });
    const diagnostics = await done;
    await notify("textDocument/didClose", { textDocument: { uri } });
    return diagnostics;
  };

  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let chain = Promise.resolve();
  rl.on("line", (line) => {
    if (!line.trim()) return;
    chain = chain.then(async () => {
      let req;
      try {
        req = JSON.parse(line);
      } catch (err) {
        write({ id: null, error: `bad request: ${err}` });
        return;
      }
      try {
        const answer = { id: req.id, diagnostics: await check(String(req.source)) };
        if (req.ast) answer.ast = parse(String(req.source));
        write(answer);
      } catch (err) {
        write({ id: req.id, error: String(err) });
      }
    });
  });
  rl.on("close", () => chain.then(() => process.exit(0)));
}

main().catch((err) => {
  write({ id: null, fatal: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});

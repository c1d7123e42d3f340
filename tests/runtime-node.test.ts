// Node, for comparison with the edge runtimes: `dbllm serve` from the built package (dist/node/cli.js) with the
// embedded model at context 512 on one thread, through the same openai client checks (runtime-harness.ts).
// tests/server.test.ts covers the server itself in depth.
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkOpenAI, MODEL_ID, processMemory, report, root, startServer } from "./helpers/runtime-harness.ts";

test("node: dbllm serve --ctx 512 --threads 1 answers the openai client", async () => {
  const server = await startServer(process.execPath, [path.join(root, "dist/node/cli.js"), "serve", "--ctx", "512", "--threads", "1", "--port", "0", "--model-id", MODEL_ID], {
    cwd: root, printsUrl: /on (http:\/\/127\.0\.0\.1:\d+)\/v1/,
  });
  try {
    const idle = processMemory(server.pid).rss;
    const m = await checkOpenAI(`${server.url}/v1`, `${server.url}/health`);
    assert.is(m.threads, 1);
    report(`node ${process.versions.node}, dbllm serve (loads the model before listening)`, m, { idle, peak: processMemory(server.pid).peak }, false);
  } finally {
    await server.stop();
  }
});

test.run();

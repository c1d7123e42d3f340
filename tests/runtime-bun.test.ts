// Bun (from the npm package `bun`) runs examples/edge/bun/server.js in a project that has dbllm installed
// (`import "dbllm"` takes the "node" condition: Bun runs the Node build), the model from a static server on
// 127.0.0.1, and the openai client checks chat, streaming and errors (runtime-harness.ts).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkOpenAI, example, MODEL, processMemory, report, runtimeBinary, startServer, userProject, versionOf } from "./helpers/runtime-harness.ts";
import { startStaticServer } from "./helpers/static-server.ts";
import { workDir } from "./helpers/workdir.ts";

const dir = userProject(workDir("runtime-bun"), { "server.js": example("bun/server.js") });

test("bun: examples/edge/bun/server.js answers the openai client (one thread, context 512)", async () => {
  const bun = runtimeBinary("bun");
  const models = await startStaticServer({ isolated: false, mounts: { "/model.dbllm": MODEL } });
  const server = await startServer(bun, ["server.js"], {
    cwd: dir,
    env: { MODEL_URL: `${models.url}/model.dbllm`, THREADS: "1", PORT: "0", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
    printsUrl: /API on (http:\/\/127\.0\.0\.1:\d+)\/v1/,
  });
  try {
    const idle = processMemory(server.pid).rss;
    const m = await checkOpenAI(`${server.url}/v1`, `${server.url}/health`);
    assert.is(m.threads, 1);
    report(`bun ${versionOf(bun)}`, m, { idle, peak: processMemory(server.pid).peak });
  } finally {
    await server.stop();
    await models.close();
  }
});

test.run();

// Deno (`deno serve`, from the npm package `deno`) runs examples/edge/deno/main.js in a project that has dbllm
// installed: `import "dbllm"` takes the "deno" condition (the bundle without Node built-ins), the model comes
// from a static server on 127.0.0.1, and the openai client checks chat, streaming and errors (runtime-harness.ts).
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkOpenAI, example, freePort, MODEL, processMemory, report, runtimeBinary, startServer, userProject, versionOf } from "./helpers/runtime-harness.ts";
import { startStaticServer } from "./helpers/static-server.ts";
import { workDir } from "./helpers/workdir.ts";

const dir = userProject(workDir("runtime-deno"), { "main.js": example("deno/main.js") });

test("deno serve: examples/edge/deno/main.js answers the openai client (one thread, context 512)", async () => {
  const deno = runtimeBinary("deno");
  const models = await startStaticServer({ isolated: false, mounts: { "/model.dbllm": MODEL } });
  const port = await freePort();
  // the documented command (docs/SERVER.md), on 127.0.0.1 and one thread
  const server = await startServer(deno, ["serve", "--host", "127.0.0.1", "--port", String(port), "--allow-net", "--allow-env=MODEL_URL,THREADS", "--allow-read=node_modules", "main.js"], {
    cwd: dir,
    env: { MODEL_URL: `${models.url}/model.dbllm`, THREADS: "1", DENO_DIR: path.join(dir, ".deno"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    printsUrl: /Listening on (http:\/\/127\.0\.0\.1:\d+)/,
  });
  try {
    const idle = processMemory(server.pid).rss;
    const m = await checkOpenAI(`${server.url}/v1`, `${server.url}/health`);
    assert.is(m.threads, 1);
    report(versionOf(deno).replace(/ \(.*/, ""), m, { idle, peak: processMemory(server.pid).peak });
    assert.not.match(server.output(), /error/i, server.output());
  } finally {
    await server.stop();
    await models.close();
  }
});

test.run();

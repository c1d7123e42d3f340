// `npm test` after the build and type check: fetches the reference assets once (scripts/assets.ts), then runs
// every tests/*.test.ts with uvu in one process. `npm test -- kernels` runs only files matching "kernels".
// `npm run test:fast` (--fast) is the inner loop: the kernels (rebuilt only when assembly/ changed), the type check,
// and the unit tests that need nothing beyond `npm install` — no fetched assets, no Python, no browser, no dist/.
import { spawnSync } from "node:child_process";

const run = (args, cmd = process.execPath) => {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

/** The fast tier: each file runs in a few seconds on models it builds itself (tests/fuzz/seeds are in the tree). */
const FAST = [
  "kernels-f32", "kernels-fdb", "kernels-popcount", "kernels-q8", "type-table", "layering", "config-parity", "fdb-fit",
  "sampling", "errors", "malformed-files", "fuzz", "threads", "thread-policy", "server", "handler-bundle", "plots",
];
if (process.argv[2] === "--fast") {
  const t0 = performance.now();
  run(["scripts/build.mjs", "--wasm-only", "--if-stale"]);
  run(["node_modules/typescript/bin/tsc", "-p", "tsconfig.json", "--noEmit"]);
  run(["--import", "tsx", "node_modules/uvu/bin.js", "tests", `^(${FAST.join("|")})\\.test\\.ts$`]);
  process.stderr.write(`[test:fast] ${FAST.length} files in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  process.exit(0);
}

const filter = process.argv[2] ?? "";
const wants = (...names) => !filter || names.some((n) => n.includes(filter) || filter.includes(n));
run(["--import", "tsx", "scripts/assets.ts"]);
// System packages the tests use (Debian): PyTorch for the trainer, Chromium for the browser test. The scripts
// are idempotent and quick when everything is there; they need root or sudo for apt-get.
if (wants("trainer", "python")) run(["scripts/python-env.sh"], "bash");
if (wants("browser")) run(["scripts/browser-env.sh"], "bash");
const pattern = filter ? `${filter.replace(/[^\w-]/g, "")}.*\\.test\\.ts$` : "\\.test\\.ts$";
run(["--import", "tsx", "node_modules/uvu/bin.js", "tests", pattern]);
// The trainer's own pytest suite.
if (wants("trainer", "python")) run(["--import", "tsx", "scripts/python.ts", "pytest"]);
// The kernel tests and the type table's once more with relaxed SIMD switched on (Node 20 keeps it behind a
// flag), so both kernel builds are checked against the references.
if (!filter || wants("kernels", "type-table")) {
  run(["--experimental-wasm-relaxed-simd", "--import", "tsx", "node_modules/uvu/bin.js", "tests", "(kernels-.*|type-table)\\.test\\.ts$"]);
}

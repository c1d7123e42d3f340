// `npm test` after the build and type check: fetches the reference assets once (scripts/assets.ts), then runs
// every tests/*.test.ts with uvu in one process. `npm test -- kernels` runs only files matching "kernels".
import { spawnSync } from "node:child_process";

const filter = process.argv[2] ?? "";
const run = (args) => {
  const r = spawnSync(process.execPath, args, { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(["--import", "tsx", "scripts/assets.ts"]);
const pattern = filter ? `${filter.replace(/[^\w-]/g, "")}.*\\.test\\.ts$` : "\\.test\\.ts$";
run(["--import", "tsx", "node_modules/uvu/bin.js", "tests", pattern]);

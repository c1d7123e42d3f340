// Browser / edge implementation of the platform interface: there are no files, every string is a URL.
import { DbllmError } from "../errors.ts";
import type { Platform } from "./types.ts";

const noFs = (what: string) => new DbllmError("INVALID_ARGUMENT", `${what}: local paths and directories need Node; pass a URL, ArrayBuffer or Blob`);

export const platform: Platform = {
  name: "web",
  isLocalPath: () => false,
  openFile: async (p) => { throw noFs(p); },
  isDirectory: async () => false,
  readText: async (p) => { throw noFs(p); },
  exists: async () => false,
  join: (dir, name) => `${dir.replace(/\/$/, "")}/${name}`,
  cpuCount: () => (typeof navigator !== "undefined" && navigator.hardwareConcurrency) || 1,
};

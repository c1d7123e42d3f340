// Loads the model a command names, with a progress bar unless --quiet.
import { loadModel, type Model } from "../index.ts";
import type { LoadOptions } from "../index.ts";
import { progressBar } from "./progress.ts";

export async function loadForCli(path: string, options: LoadOptions, quiet: boolean): Promise<Model> {
  const bar = quiet ? undefined : progressBar(`loading ${path}`);
  const model = await loadModel(path, { ...options, onProgress: bar ? (p) => bar.update(p) : undefined });
  bar?.done();
  return model;
}

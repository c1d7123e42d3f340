// Headless Debian Chromium (driven by playwright-core) on pages served with COOP/COEP from 127.0.0.1, for the
// browser benchmarks: a blank page at /bench/index.html plus the files mounted at chosen URL paths (the static
// server also serves dist/browser/). Each measurement opens a fresh page: a fresh module instance, worker pool
// and wasm memory.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, withoutKeepNames } from "../../tests/helpers/chromium.ts";
import { startStaticServer, type StaticServer } from "../../tests/helpers/static-server.ts";
import { WORK } from "../harness.ts";


export interface BenchBrowser {
  /** Chromium's version string. */
  version: string;
  /** What the page sees: crossOriginIsolated, navigator.hardwareConcurrency, the user agent. */
  page: { crossOriginIsolated: boolean; hardwareConcurrency: number; userAgent: string };
  /** A fresh page on the bench's blank document (cross-origin isolated). */
  open(): Promise<Page>;
  /** Errors thrown in pages so far. */
  errors: string[];
  close(): Promise<void>;
}

export async function startBenchBrowser(mounts: Record<string, string>): Promise<BenchBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  const blank = path.join(WORK, "browser", "index.html");
  mkdirSync(path.dirname(blank), { recursive: true });
  writeFileSync(blank, "<!doctype html><meta charset=utf-8><title>dbllm bench</title><p>bench/</p>\n");
  const server: StaticServer = await startStaticServer({ isolated: true, mounts: { ...mounts, "/bench/index.html": blank } });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const context: BrowserContext = await browser.newContext();
    await withoutKeepNames(context);
    const errors: string[] = [];
    context.on("weberror", (e) => errors.push(e.error().message));
    const open = async () => {
      const p = await context.newPage();
      await p.goto(`${server.url}/bench/index.html`);
      return p;
    };
    const first = await open();
    const page = await first.evaluate(() => ({ crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency, userAgent: navigator.userAgent }));
    await first.close();
    if (!page.crossOriginIsolated) throw new Error("the bench page is not cross-origin isolated: no threads in it");
    const b = browser;
    return { version: b.version(), page, open, errors, close: async () => { await b.close(); await server.close(); } };
  } catch (e) {
    await browser?.close();
    await server.close();
    throw e;
  }
}

/** Load averages (1, 5, 15 min) and the number of cores: how busy the shared machine was. */
export function load(): { loadavg: number[]; cores: number } {
  return { loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100), cores: os.cpus().length };
}

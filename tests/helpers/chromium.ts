// Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core, with a persistent
// profile (storage on disk, as for a real visitor), and what is missing when it cannot run.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const BROWSER_BUNDLE = path.join(root, "dist/browser/index.js");
/** The flags every headless run uses (tests and bench/lib/chromium.ts). */
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Why the browser tests cannot run here, or undefined. */
export function chromiumMissing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `Chromium is not installed at ${CHROMIUM}. Install Debian's package (as root: apt-get install -y chromium), or point CHROMIUM_PATH at a Chromium binary. Do not use 'npx playwright install'.`;
  if (!existsSync(BROWSER_BUNDLE)) return `${BROWSER_BUNDLE} is missing: build the bundles first (node scripts/build.mjs).`;
  return undefined;
}

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  const profile = mkdtempSync(path.join(tmpdir(), "dbllm-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1000, height: 900 } });
  await withoutKeepNames(context);
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * tsx compiles tests and benches with esbuild's keepNames, whose __name() helper ends up in the functions that
 * page.evaluate() serializes into the page: give the context's pages a no-op one.
 */
export async function withoutKeepNames(context: BrowserContext): Promise<void> {
  await context.addInitScript("globalThis.__name = (f) => f;");
}

// What this JS engine can run. The kernel builds come precompiled (WebAssembly.Module objects: loadModel's
// `wasmModules`, or the ones the workerd / edge-light entries import) or as bytes inlined in the bundle, which
// are probed once with WebAssembly.validate. A precompiled module proves its own features: the runtime compiled it.
import { WASM_BASE64, WASM_MODULES } from "#wasm";

/** The kernel builds, one per feature set (scripts/build.mjs compiles each, as dist/wasm/dbllm.<build>.wasm). */
export const KERNEL_BUILDS = ["simd", "relaxed", "simd-threads", "relaxed-threads"] as const;
export type KernelBuild = (typeof KERNEL_BUILDS)[number];

/** Precompiled kernel modules by build ("simd", "relaxed", "simd-threads", "relaxed-threads"). */
export type KernelModules = Partial<Record<KernelBuild, WebAssembly.Module>>;

export interface Features {
  readonly simd: boolean;
  readonly relaxedSimd: boolean;
  /** Shared wasm memory + atomics compile here (threads still need workers and cross-origin isolation). */
  readonly sharedMemory: boolean;
}

let cached: Features | undefined;
const bytesCache = new Map<KernelBuild, Uint8Array<ArrayBuffer>>();

/** The inlined bytes of a build; undefined in the entries that import precompiled modules instead. */
export function kernelBytes(build: KernelBuild): Uint8Array<ArrayBuffer> | undefined {
  const base64 = (WASM_BASE64 as Partial<Record<KernelBuild, string>>)[build];
  if (base64 === undefined) return undefined;
  let b = bytesCache.get(build);
  if (!b) {
    const s = atob(base64);
    b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    bytesCache.set(build, b);
  }
  return b;
}

/** The precompiled modules to use: the caller's, else the ones this bundle imports; undefined when neither. */
export function precompiledKernels(modules?: KernelModules): KernelModules | undefined {
  if (modules && Object.keys(modules).length) return modules;
  return Object.keys(WASM_MODULES).length ? (WASM_MODULES as KernelModules) : undefined;
}

/** The builds available here: every precompiled one given, else every inlined one that validates. */
export function availableBuilds(modules?: KernelModules): KernelBuild[] {
  const given = precompiledKernels(modules);
  if (given) return KERNEL_BUILDS.filter((b) => given[b] !== undefined);
  const f = detectFeatures();
  return KERNEL_BUILDS.filter((b) => (b.startsWith("relaxed") ? f.relaxedSimd : f.simd) && (!b.endsWith("-threads") || f.sharedMemory));
}

/** What this engine can run: the inlined builds it validates, or what the precompiled builds given offer. */
export function detectFeatures(modules?: KernelModules): Features {
  const given = precompiledKernels(modules);
  if (given) {
    const has = (b: KernelBuild) => given[b] !== undefined;
    return Object.freeze({ simd: KERNEL_BUILDS.some(has), relaxedSimd: has("relaxed") || has("relaxed-threads"), sharedMemory: has("simd-threads") || has("relaxed-threads") });
  }
  if (!cached) {
    const ok = (b: KernelBuild) => {
      try { return WebAssembly.validate(kernelBytes(b)!); } catch { return false; }
    };
    cached = Object.freeze({ simd: ok("simd"), relaxedSimd: ok("relaxed"), sharedMemory: ok("simd-threads") });
  }
  return cached;
}

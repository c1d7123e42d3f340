// What this JS engine can run, probed once with WebAssembly.validate on our own kernel modules.
import { WASM_BASE64 } from "#wasm";

export type KernelBuild = keyof typeof WASM_BASE64;

export interface Features {
  readonly simd: boolean;
  readonly relaxedSimd: boolean;
  /** Shared wasm memory + atomics compile here (threads still need workers and cross-origin isolation). */
  readonly sharedMemory: boolean;
}

let cached: Features | undefined;
const bytesCache = new Map<KernelBuild, Uint8Array<ArrayBuffer>>();

export function kernelBytes(build: KernelBuild): Uint8Array<ArrayBuffer> {
  let b = bytesCache.get(build);
  if (!b) {
    const s = atob(WASM_BASE64[build]);
    b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    bytesCache.set(build, b);
  }
  return b;
}

export function detectFeatures(): Features {
  if (!cached) {
    const ok = (b: KernelBuild) => {
      try { return WebAssembly.validate(kernelBytes(b)); } catch { return false; }
    };
    cached = Object.freeze({ simd: ok("simd"), relaxedSimd: ok("relaxed"), sharedMemory: ok("simd-threads") });
  }
  return cached;
}

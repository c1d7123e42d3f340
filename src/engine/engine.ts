// One instantiated kernel module over one linear memory, with the arena that manages that memory.
// The build (baseline SIMD or relaxed SIMD) is chosen by probing; a missing feature costs speed, never
// correctness, because both builds compute the same functions.
import { DbllmError } from "../errors.ts";
import { Arena, MAX_PAGES } from "./arena.ts";
import { detectFeatures, kernelBytes, type KernelBuild } from "./features.ts";
import type { KernelExports } from "./kernels.ts";

export type KernelPreference = "auto" | "simd" | "relaxed";

export interface EngineOptions {
  /** Which kernel build to use; 'auto' takes relaxed SIMD when this engine supports it. */
  simd?: KernelPreference;
  /** Create a shared memory (needed by the worker pool). */
  shared?: boolean;
  /**
   * Upper bound of a shared memory in bytes (it must be declared up front; default 4 GiB). Browsers reserve it
   * as address space, which may fail on small devices, so the loader asks only for what the model needs.
   */
  maxBytes?: number;
}

export class Engine {
  readonly memory: WebAssembly.Memory;
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly build: KernelBuild;
  readonly module: WebAssembly.Module;

  private constructor(memory: WebAssembly.Memory, instance: WebAssembly.Instance, module: WebAssembly.Module, build: KernelBuild, maxPages: number) {
    this.memory = memory;
    this.k = instance.exports as unknown as KernelExports;
    this.module = module;
    this.build = build;
    this.arena = new Arena(memory, this.k.heap_base(), maxPages);
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    const f = detectFeatures();
    if (!f.simd) {
      throw new DbllmError("INVALID_ARGUMENT", "this JavaScript engine does not support WebAssembly SIMD (needed by dbllm's kernels; Node ≥ 16.4, Chrome ≥ 91, Firefox ≥ 89, Safari ≥ 16.4)");
    }
    const pref = options.simd ?? "auto";
    if (pref === "relaxed" && !f.relaxedSimd) {
      throw new DbllmError("INVALID_ARGUMENT", "relaxed SIMD is not available in this engine (Node 20 needs --experimental-wasm-relaxed-simd)");
    }
    const relaxed = pref === "relaxed" || (pref === "auto" && f.relaxedSimd);
    const shared = options.shared ?? false;
    const build: KernelBuild = shared ? (relaxed ? "relaxed-threads" : "simd-threads") : relaxed ? "relaxed" : "simd";
    const maxPages = Math.min(MAX_PAGES, Math.ceil((options.maxBytes ?? MAX_PAGES * 65536) / 65536));
    const memory = shared
      ? new WebAssembly.Memory({ initial: 1, maximum: maxPages, shared: true })
      : new WebAssembly.Memory({ initial: 1 });
    const module = await WebAssembly.compile(kernelBytes(build));
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    return new Engine(memory, instance, module, build, shared ? maxPages : MAX_PAGES);
  }

  get relaxedSimd(): boolean { return this.build.startsWith("relaxed"); }

  f32(ptr: number, length: number): Float32Array { return new Float32Array(this.memory.buffer, ptr, length); }
  u8(ptr: number, length: number): Uint8Array { return new Uint8Array(this.memory.buffer, ptr, length); }

  allocF32(length: number, what: string): number { return this.arena.alloc(length * 4, what); }
}

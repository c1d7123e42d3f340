// One instantiated kernel module over one linear memory, with the arena that manages that memory.
// The build (baseline SIMD or relaxed SIMD, with or without threads) is chosen from what this runtime has; a
// missing feature costs speed, never correctness, because every build computes the same functions.
import { DbllmError } from "../errors.ts";
import { Arena, MAX_PAGES } from "./arena.ts";
import { availableBuilds, KERNEL_BUILDS, kernelBytes, precompiledKernels, type KernelBuild, type KernelModules } from "./features.ts";
import type { KernelExports } from "./kernels.generated.ts";

export type KernelPreference = "auto" | "simd" | "relaxed";

export interface KernelOptions {
  /** Which kernel build to use; 'auto' takes relaxed SIMD when this engine supports it. */
  simd?: KernelPreference;
  /** A threads build (shared memory, needed by the worker pool). */
  shared?: boolean;
  /** Precompiled builds (loadModel's `wasmModules`); the best one given is used. */
  modules?: KernelModules;
}

export interface EngineOptions extends KernelOptions {
  /** The kernel module, when already chosen by loadKernels (else chosen here). */
  kernels?: Kernels;
  /**
   * Upper bound of a shared memory in bytes (it must be declared up front; default 4 GiB). Browsers reserve it
   * as address space, which may fail on small devices, so the loader asks only for what the model needs.
   */
  maxBytes?: number;
}

/** A compiled kernel module and which build it is. */
export interface Kernels {
  build: KernelBuild;
  module: WebAssembly.Module;
}

const EMPTY_MODULE = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

/** Why this runtime will not compile WebAssembly from bytes, or undefined when it does. */
function compileRefusal(): string | undefined {
  try {
    new WebAssembly.Module(EMPTY_MODULE);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const unsupported = (why: string) => new DbllmError(
  "UNSUPPORTED_ENVIRONMENT",
  `this runtime does not compile WebAssembly from bytes (${why}), as on Cloudflare Workers and Vercel Edge. ` +
    "Give dbllm its kernels precompiled: loadModel(source, { wasmModules: { simd, relaxed } }) with " +
    "dbllm/wasm/dbllm.simd.wasm and dbllm/wasm/dbllm.relaxed.wasm imported as WebAssembly modules (the builds that " +
    "run without threads; either one is enough), or import \"dbllm\" through a bundler that sets the \"workerd\" or " +
    "\"edge-light\" export condition (wrangler, Next.js), which does this for you.",
);

/** Picks the build (threads when `shared`, relaxed SIMD where allowed and wanted) and compiles it if needed. */
export async function loadKernels(options: KernelOptions = {}): Promise<Kernels> {
  const pref = options.simd ?? "auto";
  const given = precompiledKernels(options.modules);
  if (!given) {
    const refusal = compileRefusal();
    if (refusal !== undefined) throw unsupported(refusal);
  }
  const available = availableBuilds(options.modules);
  if (!given && !available.length) {
    throw new DbllmError("UNSUPPORTED_ENVIRONMENT", "this JavaScript engine does not support WebAssembly SIMD (needed by dbllm's kernels; Node ≥ 16.4, Chrome ≥ 91, Firefox ≥ 89, Safari ≥ 16.4)");
  }
  const shared = options.shared ?? false;
  const wanted = (shared ? ["relaxed-threads", "simd-threads"] : ["relaxed", "simd"]).filter((b) => pref === "auto" || b.split("-")[0] === pref) as KernelBuild[];
  const build = wanted.find((b) => available.includes(b));
  if (!build) {
    if (!given) throw new DbllmError("UNSUPPORTED_ENVIRONMENT", "relaxed SIMD is not available in this engine (Node 20 needs --experimental-wasm-relaxed-simd)");
    throw new DbllmError("INVALID_ARGUMENT", `wasmModules has no ${wanted.join(" or ")} build, which this load needs (given: ${available.join(", ") || "none"})`);
  }
  if (given) return { build, module: given[build]! };
  try {
    return { build, module: await WebAssembly.compile(kernelBytes(build)!) };
  } catch (e) {
    throw unsupported((e as Error).message);
  }
}

/** Checks loadModel's `wasmModules` option: known build names, each a WebAssembly.Module (of any realm). */
export function checkKernelModules(modules: unknown): KernelModules | undefined {
  if (modules === undefined) return undefined;
  if (!modules || typeof modules !== "object") throw new DbllmError("INVALID_ARGUMENT", `wasmModules must be an object of WebAssembly.Module by build (${KERNEL_BUILDS.join(", ")})`);
  for (const [name, m] of Object.entries(modules)) {
    if (!(KERNEL_BUILDS as readonly string[]).includes(name)) throw new DbllmError("INVALID_ARGUMENT", `wasmModules.${name} is not a kernel build; the builds are ${KERNEL_BUILDS.join(", ")}`);
    // toStringTag rather than instanceof: modules compiled by the host of a sandbox come from another realm
    if (Object.prototype.toString.call(m) !== "[object WebAssembly.Module]") throw new DbllmError("INVALID_ARGUMENT", `wasmModules.${name} must be a WebAssembly.Module (import dbllm/wasm/dbllm.${name}.wasm as a module)`);
  }
  return modules as KernelModules;
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
    const { build, module } = options.kernels ?? await loadKernels(options);
    const shared = build.endsWith("-threads");
    const maxPages = Math.min(MAX_PAGES, Math.ceil((options.maxBytes ?? MAX_PAGES * 65536) / 65536));
    const memory = shared
      ? new WebAssembly.Memory({ initial: 1, maximum: maxPages, shared: true })
      : new WebAssembly.Memory({ initial: 1 });
    const wrongBuild = (why: string) => new DbllmError("INVALID_ARGUMENT", `the module given as the "${build}" kernel build is not dbllm's ${build} build (${why}); pass each file of dbllm/wasm/ under its own name`);
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(module, { env: { memory } });
    } catch (e) {
      throw wrongBuild((e as Error).message);
    }
    const k = instance.exports as unknown as Partial<KernelExports>;
    if (typeof k.heap_base !== "function" || typeof k.relaxed_simd !== "function") throw wrongBuild("it does not export dbllm's kernels");
    if ((k.relaxed_simd() !== 0) !== build.startsWith("relaxed")) throw wrongBuild(`its relaxed_simd() is ${k.relaxed_simd()}`);
    return new Engine(memory, instance, module, build, shared ? maxPages : MAX_PAGES);
  }

  get relaxedSimd(): boolean { return this.build.startsWith("relaxed"); }

  f32(ptr: number, length: number): Float32Array { return new Float32Array(this.memory.buffer, ptr, length); }
  u8(ptr: number, length: number): Uint8Array { return new Uint8Array(this.memory.buffer, ptr, length); }

  allocF32(length: number, what: string): number { return this.arena.alloc(length * 4, what); }
}

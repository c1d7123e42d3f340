// A session's key/value cache: for every layer, keys and values of each position, (capacity, kvHeads·headDim)
// f32 rows. Projections of new tokens are written straight into their rows by the forward pass.
import type { Engine } from "../engine/engine.ts";
import type { ModelConfig } from "../config/model-config.ts";

export class KVCache {
  readonly keys: number[] = [];   // per layer: (capacity, kvDim) f32
  readonly values: number[] = []; // per layer: (capacity, kvDim) f32
  readonly bytes: number;
  private block: number;

  constructor(private readonly engine: Engine, config: ModelConfig, readonly capacity: number) {
    const kvDim = config.nKvHeads * config.headDim;
    const layerBytes = capacity * kvDim * 4;
    this.bytes = layerBytes * 2 * config.nLayers;
    this.block = engine.arena.alloc(this.bytes, `KV cache for ${capacity} positions`);
    for (let l = 0; l < config.nLayers; l++) {
      this.keys.push(this.block + 2 * l * layerBytes);
      this.values.push(this.block + (2 * l + 1) * layerBytes);
    }
  }

  dispose(): void {
    if (this.block) { this.engine.arena.dealloc(this.block); this.block = 0; }
  }
}

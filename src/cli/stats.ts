import type { GenerationStats } from "../generate/options.ts";

export function formatStats(s: GenerationStats): string {
  return `[prompt ${s.promptTokens} tokens (${s.cachedPromptTokens} cached) at ${s.prefillTokensPerSecond.toFixed(1)} tok/s, ` +
    `generated ${s.generatedTokens} at ${s.decodeTokensPerSecond.toFixed(1)} tok/s, stop: ${s.stopReason}]`;
}

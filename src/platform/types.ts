// What the loader needs from its host environment. Node implements all of it (platform/node.ts); browsers
// and edge runtimes have no file system, so paths there are URLs (platform/web.ts).
import type { ByteSource } from "../formats/source.ts";

export interface Platform {
  readonly name: "node" | "web";
  /** True when `s` names a local path (rather than a URL) on this platform. */
  isLocalPath(s: string): boolean;
  openFile(path: string): Promise<ByteSource>;
  isDirectory(path: string): Promise<boolean>;
  readText(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  join(dir: string, name: string): string;
  /** Logical CPU count (for thread defaults). */
  cpuCount(): number;
}

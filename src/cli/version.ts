// `kubectl wren version`: the version in package.json.
import { readFileSync } from "node:fs";

/** The package version, read next to the sources (src/cli -> package.json, also from dist/cli). */
export function packageVersion(): string {
  try {
    const raw = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    const version = (JSON.parse(raw) as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}

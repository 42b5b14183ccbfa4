// npm run testbed -- up | down | status | env

import { readState } from "./state.ts";
import { down, envLines, health, up } from "./testbed.ts";

const usage = "usage: npm run testbed -- up|down|status|env";
const command = process.argv[2];

switch (command) {
  case "up": {
    const state = await up();
    for (const line of envLines(state)) console.log(line);
    break;
  }
  case "down":
    await down();
    break;
  case "status": {
    const state = readState();
    if (!state) {
      console.log("testbed: not running");
      process.exit(1);
    }
    const parts = await health(state);
    for (const [part, ok] of Object.entries(parts)) console.log(`${part.padEnd(12)} ${ok ? "ok" : "DOWN"}`);
    for (const line of envLines(state)) console.log(line);
    process.exit(Object.values(parts).every(Boolean) ? 0 : 1);
    break;
  }
  case "env": {
    const state = readState();
    if (!state) {
      console.error("testbed: not running; start it with npm run testbed -- up");
      process.exit(1);
    }
    for (const line of envLines(state)) console.log(`export ${line}`);
    break;
  }
  default:
    console.error(usage);
    process.exit(2);
}

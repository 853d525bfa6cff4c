#!/usr/bin/env node
// The jitflow command. In a checkout it runs the TypeScript sources (Node strips their types); in the
// installed package, which holds no sources, it runs the compiled JavaScript in dist/.
import { existsSync } from "node:fs";

const sources = new URL("../src/cli/main.ts", import.meta.url);
await import(existsSync(sources) ? sources.href : "../dist/cli/main.js");

#!/usr/bin/env node
// The jitflow command. Runs the TypeScript sources directly (Node >= 22.18 strips types).
import "../src/cli/main.ts";

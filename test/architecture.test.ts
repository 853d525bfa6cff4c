// The layers hold: no import runs up (or sideways), no files import each other in a circle, and
// docs/architecture.md names the same layers as the check.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  importCircles,
  importedNames,
  importGraph,
  layerOf,
  layers,
  layerViolations,
  sqlOutsideStore,
} from "./support/architecture.ts";
import { writeTree } from "./support/harness.ts";

const root = new URL("..", import.meta.url).pathname;
const src = join(root, "src");
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("the layers of src/", () => {
  const graph = importGraph(src);

  test("every folder and file at the top of src/ is in a layer", () => {
    const rooms = readdirSync(src).filter((name) => !/\.test\.ts$/.test(name));
    assert.deepEqual(
      rooms.filter((room) => Number.isNaN(layerOf(room))),
      [],
    );
  });

  test("no import runs up the layers or sideways between folders of one layer", () => {
    assert.ok(graph.size > 100, `read ${graph.size} files`);
    assert.deepEqual(layerViolations(graph), []);
  });

  test("no files import each other in a circle", () => {
    assert.deepEqual(importCircles(graph), []);
  });

  test("the engine imports no notifier: it records events, and planners and senders do the rest", () => {
    const fromEngine = [...graph].flatMap(([from, targets]) =>
      from.startsWith("engine/")
        ? targets.filter((t) => t.startsWith("notify/")).map((t) => `${from} -> ${t}`)
        : [],
    );
    assert.deepEqual(fromEngine, []);
  });

  test("nothing outside store/ builds SQL", () => {
    assert.deepEqual(sqlOutsideStore(src), []);
  });

  test("docs/architecture.md names the same layers, top to bottom", () => {
    const doc = readFileSync(join(root, "docs/architecture.md"), "utf8");
    const block = /<!-- layers -->\n```\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(block, "docs/architecture.md has a layers block");
    const named = block
      .trim()
      .split("\n")
      .map((line) => (line.split("│")[0] ?? "").trim().split(/,\s*/));
    assert.deepEqual(named, layers);
  });
});

describe("the check itself", () => {
  test("reads static, type-only, re-exported, side-effect and dynamic imports, and nothing else", () => {
    const text = [
      'import { a } from "./a.ts";',
      'import type {\n  B,\n  C,\n} from "../b.ts";',
      'export { d } from "./d.ts";',
      'import "./e.ts";',
      'const f = await import("./f.ts");',
      'const g = "./g.ts"; // not an import',
      "// import { h } from './h.ts' is a comment only when it does not start the line",
    ].join("\n");
    assert.deepEqual(importedNames(text), ["./a.ts", "../b.ts", "./d.ts", "./e.ts", "./f.ts"]);
  });

  test("finds an import up the layers, one sideways, one out of any layer, and a circle", () => {
    const dir = writeTree({
      "store/rows.ts": 'import type { Deps } from "../engine/deps.ts";\nexport const rows = 1;\n',
      "engine/deps.ts": 'import { rows } from "../store/rows.ts";\nexport type Deps = typeof rows;\n',
      "engine/a.ts": 'import { b } from "./b.ts";\nexport const a = b;\n',
      "engine/b.ts": 'import { a } from "./a.ts";\nexport const b = 1;\nexport const c = a;\n',
      "targets/x.ts": 'import { y } from "../notify/y.ts";\nexport const x = y;\n',
      "notify/y.ts": "export const y = 1;\n",
      "elsewhere/z.ts": 'import { y } from "../notify/y.ts";\nexport const z = y;\n',
    });
    dirs.push(dir);
    const graph = importGraph(dir);
    assert.deepEqual(
      layerViolations(graph).map((v) => `${v.from} -> ${v.to}: ${v.why}`),
      [
        "elsewhere/z.ts -> notify/y.ts: elsewhere is in no layer",
        "store/rows.ts -> engine/deps.ts: engine is above store",
        "targets/x.ts -> notify/y.ts: targets and notify are side by side",
      ],
    );
    assert.deepEqual(importCircles(graph), [
      ["engine/a.ts", "engine/b.ts"],
      ["engine/deps.ts", "store/rows.ts"],
    ]);
  });

  test("finds SQL built outside store/, and not a type import or a comment", () => {
    const dir = writeTree({
      "store/rows.ts": 'import { sql } from "kysely";\nexport const q = (db: any) => db.selectFrom("t");\n',
      "engine/reads.ts": 'export const q = (db: any) => db\n  .selectFrom("requests")\n  .selectAll();\n',
      "engine/raw.ts": 'import { sql } from "kysely";\nexport const now = sql`now()`;\n',
      "engine/typed.ts":
        'import type { Kysely } from "kysely";\n// db.selectFrom("x") in a comment\nexport type K = Kysely<object>;\n',
    });
    dirs.push(dir);
    assert.deepEqual(sqlOutsideStore(dir), [
      { file: "engine/raw.ts", line: 'import { sql } from "kysely";' },
      { file: "engine/reads.ts", line: '.selectFrom("requests")' },
    ]);
  });
});

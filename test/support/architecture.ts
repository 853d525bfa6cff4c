// Reads the imports of src/ and checks them against docs/architecture.md's rules: no import runs up the
// layers (or sideways between folders of one layer), and no files import each other in a circle.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

/** The layers, top to bottom: a file may import its own folder, and folders of the layers below its own. */
export const layers: readonly (readonly string[])[] = [
  ["cli", "sdk"],
  ["server.ts"],
  ["channels"],
  ["engine"],
  ["targets", "notify", "directory"],
  ["config"],
  ["store"],
  ["lib", "model", "errors.ts"],
];

/** The top-level folder (or file) of src/ a path belongs to: "engine" for "engine/commands/submit.ts". */
export function roomOf(path: string): string {
  const [first = ""] = path.split("/");
  return first;
}

export function layerOf(room: string): number {
  const index = layers.findIndex((layer) => layer.includes(room));
  return index === -1 ? Number.NaN : index;
}

/** Every source file under `root` (tests left out), as paths relative to it. */
export function sourceFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[])
    .map((f) => f.split("\\").join("/"))
    .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
    .sort();
}

/** file → the files of the same tree it imports (type-only and dynamic imports with a literal name included). */
export function importGraph(root: string): Map<string, string[]> {
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = new Set<string>();
    for (const fileName of importedNames(readFileSync(join(root, file), "utf8"))) {
      if (!fileName.startsWith(".")) continue;
      const target = normalize(join(dirname(file), fileName))
        .split("\\")
        .join("/");
      if (known.has(target)) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/**
 * The module names a file imports: static imports and re-exports (type-only too), side-effect imports, and
 * import() of a literal name. Read as text, statement by statement from the start of a line.
 */
export function importedNames(text: string): string[] {
  const names: string[] = [];
  const statement = /^[ \t]*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"'\n]+)["']/gm;
  const bare = /^[ \t]*import\s*["']([^"'\n]+)["']/gm;
  const dynamic = /\bimport\(\s*["']([^"'\n]+)["']\s*\)/g;
  for (const match of text.matchAll(statement)) names.push(match[1] as string);
  for (const match of text.matchAll(bare)) names.push(match[1] as string);
  for (const match of text.matchAll(dynamic)) names.push(match[1] as string);
  return names;
}

export interface Violation {
  from: string;
  to: string;
  why: string;
}

/** Imports that run up the layers, sideways between folders of one layer, or out of any layer. */
export function layerViolations(graph: Map<string, string[]>): Violation[] {
  const out: Violation[] = [];
  for (const [from, targets] of graph) {
    const a = roomOf(from);
    for (const to of targets) {
      const b = roomOf(to);
      if (a === b) continue;
      const [la, lb] = [layerOf(a), layerOf(b)];
      if (Number.isNaN(la)) out.push({ from, to, why: `${a} is in no layer` });
      else if (Number.isNaN(lb)) out.push({ from, to, why: `${b} is in no layer` });
      else if (lb < la) out.push({ from, to, why: `${b} is above ${a}` });
      else if (lb === la) out.push({ from, to, why: `${a} and ${b} are side by side` });
    }
  }
  return out;
}

/** The circles of files that import each other (strongly connected components of more than one file, or a file importing itself). */
export function importCircles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const circle: string[] = [];
    for (;;) {
      const w = stack.pop() as string;
      onStack.delete(w);
      circle.push(w);
      if (w === v) break;
    }
    if (circle.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(circle.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return circles;
}

/** Query building: Kysely's builders, raw `sql`, or a value import of kysely. */
const queryBuilding = [
  /\.(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\(/,
  /\bsql`/,
  /^[ \t]*import\s+(?!type\b)[^;]*from\s*["']kysely["']/m,
];

/** Files outside store/ that build SQL, each with the first line that does. */
export function sqlOutsideStore(root: string): { file: string; line: string }[] {
  const out: { file: string; line: string }[] = [];
  for (const file of sourceFiles(root)) {
    if (roomOf(file) === "store") continue;
    const lines = readFileSync(join(root, file), "utf8").split("\n");
    const found = lines.find(
      (line) => !/^\s*(\/\/|\*)/.test(line) && queryBuilding.some((re) => re.test(line)),
    );
    if (found !== undefined) out.push({ file, line: found.trim() });
  }
  return out;
}

/** Where a path is, relative to `root`, for messages. */
export function shown(root: string, path: string): string {
  return relative(root, path) || ".";
}

/**
 * docs/FROM_PYTORCH.md is true: every denn snippet in its table (the `code` spans of a row's denn
 * cell, run in order as one snippet) is type-checked with `deno check` and run. The doc's first `ts` block (imports, with
 * `jsr:@denn/denn` specifiers mapped to this checkout through deno.json's exports) runs once; its
 * second block (the variables the snippets use) runs again before each snippet, so every snippet
 * starts from the same state. Rows that move data to webgpu are skipped where no adapter exists.
 */

import assert from "node:assert/strict";
import { getBackend, hasBackend } from "../mod.ts";

const root = new URL("../", import.meta.url);
const doc = await Deno.readTextFile(new URL("docs/FROM_PYTORCH.md", root));
const exportsMap: Record<string, string> = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", root)),
).exports;

/** The denn snippet of a table row (its code spans in order), with the row. */
interface Snippet {
  line: number;
  pytorch: string;
  code: string;
}

function tsBlocks(md: string): string[] {
  return [...md.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

// The table's rows: cells split on unescaped pipes; the code spans of the denn column.
function snippets(md: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = md.split("\n");
  const start = lines.findIndex((l) => /^\| PyTorch +\| denn +\| Notes/.test(l));
  assert.ok(start >= 0, "the table's header row");
  for (let i = start + 2; i < lines.length && lines[i].startsWith("|"); i++) {
    const cells = lines[i].split(/(?<!\\)\|/).map((c) => c.trim().replaceAll("\\|", "|"));
    assert.equal(cells.length, 5, `line ${i + 1}: three cells`);
    const codes = [...cells[2].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    assert.ok(codes.length > 0, `line ${i + 1}: a denn snippet`);
    out.push({ line: i + 1, pytorch: cells[1], code: codes.join(";\n      ") });
  }
  return out;
}

// `jsr:@denn/denn` and its sub-paths resolved to this checkout's files.
function localImports(code: string): string {
  return code.replace(/"jsr:@denn\/denn(\/[a-z0-9/-]+)?"/g, (_m, sub: string | undefined) => {
    const target = exportsMap[sub ? `.${sub}` : "."];
    assert.ok(target, `deno.json exports ${sub ?? "."}`);
    return JSON.stringify(new URL(target, root).href);
  });
}

const [prelude, setup] = tsBlocks(doc);
assert.ok(prelude && setup, "the doc's two setup blocks");
const rows = snippets(doc);

// One module: the prelude once, then each snippet in a function that runs the setup first and
// removes the temp file the setup makes.
const body = rows.map((s) =>
  `  [${s.line}, async () => {\n${setup}\n    try {\n      ${s.code};\n    } finally {\n` +
  `      await Deno.remove(path).catch(() => {});\n    }\n  }],`
).join("\n");
const source = `${localImports(prelude)}
// deno-lint-ignore no-explicit-any
export const snippets: [number, () => Promise<any>][] = [
${body}
];
`;
const dir = await Deno.makeTempDir({ prefix: "denn_from_pytorch_" });
const file = `${dir}/snippets.ts`;
await Deno.writeTextFile(file, source);
const mod = await import(new URL(`file://${file}`).href) as {
  snippets: [number, () => Promise<unknown>][];
};
const gpu = hasBackend("webgpu");
if (!gpu) console.log("FROM_PYTORCH.md: webgpu unavailable, skipping the rows that use it");

Deno.test("FROM_PYTORCH.md has a table of at least 40 calls, each with a denn snippet", () => {
  assert.ok(rows.length >= 40, `${rows.length} rows`);
  assert.equal(mod.snippets.length, rows.length);
});

Deno.test("FROM_PYTORCH.md's snippets type-check", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--config", new URL("deno.json", root).pathname, file],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `deno check of the doc's snippets failed:\n${text}\n${source}`);
});

for (const [i, s] of rows.entries()) {
  Deno.test({
    name: `FROM_PYTORCH.md line ${s.line}: ${s.code.replaceAll(";\n      ", "; ")}`,
    ignore: !gpu && s.code.includes("webgpu"),
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      try {
        await mod.snippets[i][1]();
      } catch (e) {
        throw new Error(`line ${s.line}: \`${s.code}\` (for ${s.pytorch}) failed: ${e}`, {
          cause: e,
        });
      }
    },
  });
}

Deno.test({
  name: "FROM_PYTORCH.md: clean up (temp files, the webgpu device)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await Deno.remove(dir, { recursive: true });
    if (gpu) {
      // Release the device the doc's prelude opened now, not at process teardown (see
      // tests/webgpu/_release.ts).
      const ctx = getBackend("webgpu").context as {
        sync(): Promise<void>;
        device: GPUDevice;
      };
      await ctx.sync();
      ctx.device.destroy();
    }
  },
});

/**
 * Regenerates the `exports` map of deno.json: the root, every folder's mod.ts, every plugin file
 * in layers/, losses/ and optim/, and the backends' kernel kits, with kebab-case keys.
 *
 *     deno run --allow-read --allow-write tools/sync_exports.ts
 *
 * @module
 */

const root = new URL("../", import.meta.url);
const kebab = (s: string) => s.replaceAll("_", "-");
const exports: Record<string, string> = { ".": "./mod.ts", "./core": "./core/mod.ts" };

for (const dir of ["layers", "losses", "optim"]) {
  exports[`./${dir}`] = `./${dir}/mod.ts`;
  const files = [...Deno.readDirSync(new URL(`${dir}/`, root))]
    .filter((e) =>
      e.isFile && e.name.endsWith(".ts") && e.name !== "mod.ts" && e.name !== "nn.ts" &&
      !e.name.startsWith("_") && !e.name.endsWith("_test.ts")
    )
    .map((e) => e.name)
    .sort();
  for (const f of files) exports[`./${dir}/${kebab(f.slice(0, -3))}`] = `./${dir}/${f}`;
}
for (
  const e of [...Deno.readDirSync(new URL("plugins/", root))].sort((a, b) =>
    a.name.localeCompare(b.name)
  )
) {
  if (!e.isDirectory) continue;
  try {
    Deno.statSync(new URL(`plugins/${e.name}/mod.ts`, root));
    exports[`./plugins/${kebab(e.name)}`] = `./plugins/${e.name}/mod.ts`;
  } catch {
    // a plugin folder without mod.ts is not public
  }
  try {
    // a kernel kit for plugin authors writing kernels for this backend
    Deno.statSync(new URL(`plugins/${e.name}/kit.ts`, root));
    exports[`./plugins/${kebab(e.name)}/kit`] = `./plugins/${e.name}/kit.ts`;
  } catch {
    // no kit
  }
}
try {
  Deno.statSync(new URL("testing/mod.ts", root));
  exports["./testing"] = "./testing/mod.ts";
} catch {
  // the testing kit is optional
}

const path = new URL("deno.json", root);
const json = JSON.parse(Deno.readTextFileSync(path));
json.exports = exports;
Deno.writeTextFileSync(path, JSON.stringify(json, null, 2) + "\n");
console.log(`${Object.keys(exports).length} exports written`);

// Compiles every assembly/*.ts into build/<name>.wasm (release, optimized).
import { readdirSync, mkdirSync } from "node:fs";
import { execFileSync } from "node:child_process";

mkdirSync("build", { recursive: true });
for (const file of readdirSync("assembly").filter((f) => f.endsWith(".ts"))) {
  const name = file.slice(0, -3);
  execFileSync(
    "npx",
    ["asc", `assembly/${file}`, "--optimize", "--outFile", `build/${name}.wasm`],
    { stdio: "inherit" },
  );
  console.log(`built build/${name}.wasm`);
}

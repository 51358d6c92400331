#!/usr/bin/env node
// Committed so that `npm ci` links the command on a fresh clone, before dist/ is built.
require('../dist/main.js');

#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm install` (the prepare script); this file only loads it.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv);

#!/usr/bin/env node
// Thin entry point: everything lives in dist/ (built by `npm run build`).
import { main } from '../dist/cli/main.js';

// A reader that goes away (`maintctl demo | head`) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));

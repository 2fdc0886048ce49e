// Loaded with `node --import`: reports on stderr each package a process loads, as "loaded: NAME",
// whether imported (a loader hook, in the loaders' thread) or require()d (createRequire, and the
// packages CommonJS packages require), so a package loaded lazily either way is seen.
// A package may be reported once by each; the start-up tests keep the first.
import Module, { register } from 'node:module';

const PACKAGE = /node_modules\/((?:@[^/]+\/)?[^/]+)\//;

register(
  'data:text/javascript,' +
    encodeURIComponent(`
const seen = new Set();
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const m = ${PACKAGE}.exec(result.url);
  if (m && !seen.has(m[1])) {
    seen.add(m[1]);
    process._rawDebug('loaded: ' + m[1]);
  }
  return result;
}`),
);

const required = new Set();
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (...args) {
  const file = resolveFilename.apply(this, args);
  const m = PACKAGE.exec(file);
  if (m && !required.has(m[1])) {
    required.add(m[1]);
    process._rawDebug(`loaded: ${m[1]}`);
  }
  return file;
};

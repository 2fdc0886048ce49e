// Loaded with `node --import`: reports on stderr each package a process imports, once, as
// "loaded: NAME" (for the start-up tests: which packages a command pulls in).
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
const seen = new Set();
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(result.url);
  if (m && !seen.has(m[1])) {
    seen.add(m[1]);
    process._rawDebug('loaded: ' + m[1]);
  }
  return result;
}`),
);

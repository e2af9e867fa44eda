// Replaced at build time by build.mjs (esbuild define) with package.json's version.
declare const UGATE_VERSION: string | undefined;
export const VERSION: string = typeof UGATE_VERSION === 'string' ? UGATE_VERSION : '0.0.0-dev';

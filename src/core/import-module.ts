/**
 * `import(specifier)`, the one place pallet calls `import()` (dockerode, esbuild, tsx, a project file; the
 * packages it `require`s on first use are in ./lazy.ts).
 *
 * Why one place: the built package runs from V8's code cache (src/boot/image.ts), and on Node 20 a script
 * compiled from a code cache cannot call `import()` itself (the host options that would say which loader to use
 * are not in the cache: "A dynamic import callback was not specified"). The build (scripts/build.ts) replaces
 * this module with one that calls the loader's own `import`, passed in when the image is run; a build that
 * leaves an `import(` elsewhere fails.
 */
export function importModule<T>(specifier: string): Promise<T> {
  return import(specifier) as Promise<T>;
}

// See pglite-environment.js: the specs that use PGlite run in an environment that loads it
// outside Jest's module sandbox; hand that instance to every `import ... from '@electric-sql/pglite'`.
jest.mock('@electric-sql/pglite', () => {
  const native = (globalThis as { __NATIVE_PGLITE__?: unknown }).__NATIVE_PGLITE__;
  if (!native) throw new Error('this spec needs the docblock @jest-environment ./test/example/pglite-environment.js');
  return native;
});

export {};

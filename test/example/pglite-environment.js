'use strict';
/**
 * Jest's node environment plus PGlite loaded by Node itself. PGlite loads node built-ins with
 * `import()`, which Jest's module sandbox refuses unless Node runs with --experimental-vm-modules;
 * a test environment is loaded outside the sandbox, so it can hand the module in. Specs that use
 * PGlite select it with the docblock `@jest-environment ./test/example/pglite-environment.js`.
 */
const { TestEnvironment } = require('jest-environment-node');

class PgliteEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.__NATIVE_PGLITE__ = require('@electric-sql/pglite');
  }
}

module.exports = PgliteEnvironment;

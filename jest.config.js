/** Every test of the repository: library unit specs, integration specs and the example app's e2e. */
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/test'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', isolatedModules: false }],
  },
  moduleNameMapper: {
    '^nestjs-data-buffer$': '<rootDir>/libs/data-buffer/src',
    '^nestjs-data-buffer/(.*)$': '<rootDir>/libs/data-buffer/src/$1',
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/libs/data-buffer/dist/'],
  testEnvironment: 'node',
  testTimeout: 30000,
};

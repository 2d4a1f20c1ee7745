/** mx4map's version, compiled in: the single executable has no package.json to read it from (a test keeps it equal). */
export const VERSION = '0.1.0';

// node:test in Node 20 loads reporters without the --import hooks, so it cannot read TypeScript: this loads
// test-progress.ts through tsx's API and hands on its reporter.
import { tsImport } from 'tsx/esm/api';

const { default: reporter } = await tsImport('./test-progress.ts', import.meta.url);
export default reporter;

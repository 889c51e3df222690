// Kept so the files that import './runner.js' need not change while others edit them; the runs'
// public face is ./runs/index.ts, and new code imports from there.
export * from './runs/index.js';

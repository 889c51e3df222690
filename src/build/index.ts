// Image builds: context from the workspace, build and push through the Docker engine.
export * from './types.js';
export { buildContext, BuildContextError } from './context.js';
export { DockerImageBuilder, type BuilderChoice } from './docker.js';

export { CyberVault } from "./client.js";
export { CyberVault as default } from "./client.js";
export { APIClient, type ClientOptions, type RawResponse, type RequestSpec, type RequestOptions, type Query, type JSONBody } from "./core.js";
export * from "./errors.js";
export { Page, PagePromise } from "./pagination.js";
export * from "./resources.js";
export type * from "./types.js";
export * as webhooks from "./webhooks.js";
export { VERSION } from "./version.js";

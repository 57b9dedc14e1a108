export { StaticFiles } from './static-files.ts'
export type { HeaderRule, Redirect, Rewrite, StaticOptions } from './types.ts'
export { readSiteConfig, siteConfig } from './config.ts'

export { StaticFiles } from './static-files.ts'
export type { StaticOptions } from './types.ts'
export { readSiteConfig, siteConfig } from './config.ts'

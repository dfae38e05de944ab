/** The configuration of a riftmesh node: defaults, schema, key table and loader. */
export * from './defaults.js'
export * from '../core/vocabulary.js'
export type { Frozen } from './fields.js'
export {
  CONFIG_KEYS, CONFIG_SECTIONS, configSchema, describeConfig, envVarName, formatValue, keyMetaOf,
  type ConfigKeyMeta, type ConfigRow, type ConfigSection, type DefaultsContext, type RiftmeshConfig
} from './schema.js'
export { CONFIG_RELATIONS, configValue, type ConfigRelation } from './checks.js'
export {
  loadConfig, readConfigFile, resolveConfig, unknownEnvVars,
  type ConfigLayers, type ConfigWarning, type LoadConfigOptions, type LoadedConfig, type ResolveContext
} from './load.js'

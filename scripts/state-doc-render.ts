/**
 * The pieces scripts/state-doc.ts renders with: one table row per field of a JSON Schema (from
 * zod's `z.toJSONSchema`), the JSDoc comment of each field in schema.ts's source, and where a zod
 * schema has refinements that JSON Schema cannot show.
 */
import type { z } from 'zod'

/** The subset of JSON Schema that `z.toJSONSchema` produces for the state schemas. */
export interface JsonSchema {
  $ref?: string
  type?: string
  const?: unknown
  enum?: unknown[]
  anyOf?: JsonSchema[]
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  items?: JsonSchema
  maxItems?: number
  properties?: Record<string, JsonSchema>
  required?: string[]
  propertyNames?: JsonSchema
  additionalProperties?: JsonSchema | boolean
  description?: string
  [k: string]: unknown
}

export interface FieldRow { path: string, required: boolean, type: string, description: string | undefined }

const ID_PATTERN = '^[A-Za-z0-9._:@/+=-]+$'
const SHA256_PATTERN = '^[0-9a-f]{64}$'

const bounded = (x: number | undefined): number | undefined => x !== undefined && Math.abs(x) < Number.MAX_SAFE_INTEGER ? x : undefined
const range = (lo: number | undefined, hi: number | undefined, unit = ''): string => rangeOf(bounded(lo), bounded(hi), unit)
const rangeOf = (lo: number | undefined, hi: number | undefined, unit: string): string =>
  lo !== undefined && hi !== undefined ? ` ${lo}–${hi}${unit}` : hi !== undefined ? ` ≤ ${hi}${unit}` : lo !== undefined ? ` ≥ ${lo}${unit}` : ''

/** A field's type in words, with links to the named schemas it refers to. */
export function typeOf (js: JsonSchema): string {
  if (js.$ref !== undefined) {
    const name = js.$ref.replace(/^#/, '')
    return `[${name}](#${name.toLowerCase()})`
  }
  if (js.const !== undefined) return `\`${JSON.stringify(js.const)}\``
  if (js.enum !== undefined) return js.enum.map(v => `\`${JSON.stringify(v)}\``).join(' \\| ')
  if (js.anyOf !== undefined) return js.anyOf.map(typeOf).join(' \\| ')
  switch (js.type) {
    case 'string':
      if (js.pattern === ID_PATTERN && js.minLength === 1) return `[id](#common-types)${js.maxLength !== 128 ? range(undefined, js.maxLength, ' chars') : ''}`
      if (js.pattern === SHA256_PATTERN) return '[sha256](#common-types)'
      return `string${range(js.minLength, js.maxLength, ' chars')}${js.pattern !== undefined ? ` matching \`${js.pattern}\`` : ''}`
    case 'integer':
      if (js.minimum === 0 && js.maximum === Number.MAX_SAFE_INTEGER) return '[uint](#common-types)'
      return `integer${range(js.minimum, js.maximum)}`
    case 'number':
      if (js.exclusiveMinimum !== undefined) return `number > ${js.exclusiveMinimum}${js.maximum !== undefined ? `, ≤ ${js.maximum}` : ''}`
      return `number${range(js.minimum, js.maximum)}`
    case 'boolean':
    case 'null':
      return js.type
    case 'array': {
      const item = js.items !== undefined ? typeOf(js.items) : 'any'
      return `${item.includes('\\|') ? `(${item})` : item}[]${js.maxItems !== undefined ? ` (≤ ${js.maxItems})` : ''}`
    }
    case 'object':
      if (js.properties !== undefined) return 'object (fields below)'
      return `record: ${js.propertyNames !== undefined ? typeOf(js.propertyNames) : 'string'} → ${typeof js.additionalProperties === 'object' ? typeOf(js.additionalProperties) : 'any'}`
    default:
      return 'any'
  }
}

/** One row per field, nested objects' fields as dotted paths after their own row; undefined when `js` is not an object with fields. */
export function fieldRows (js: JsonSchema, prefix = ''): FieldRow[] | undefined {
  if (js.type !== 'object' || js.properties === undefined) return undefined
  const rows: FieldRow[] = []
  for (const [name, prop] of Object.entries(js.properties)) {
    const path = `${prefix}${name}`
    rows.push({ path, required: js.required?.includes(name) ?? false, type: typeOf(prop), description: prop.description })
    rows.push(...(fieldRows(prop, `${path}.`) ?? []))
  }
  return rows
}

/** Whether `js` refers to the named schema `name`. */
export function referencedIn (js: JsonSchema, name: string): boolean {
  return JSON.stringify(js).includes(`"#${name}"`)
}

interface ZodInternals { _zod: { def: { type: string, checks?: Array<{ _zod: { def: { check: string } } }>, shape?: Record<string, unknown>, innerType?: unknown, options?: unknown[], element?: unknown, valueType?: unknown } } }

/**
 * Field paths ('' = the schema itself) at which `schema` has a refinement (a zod `custom`
 * check), which JSON Schema drops. Named schemas inside it (`stopAt`) are their own concern.
 */
export function refinedPaths (schema: z.ZodType, stopAt: ReadonlySet<unknown> = new Set()): string[] {
  const out = new Set<string>()
  const walk = (s: unknown, path: string, root: boolean): void => {
    if (!root && stopAt.has(s)) return
    const def = (s as ZodInternals)._zod.def
    if (def.checks?.some(c => c._zod.def.check === 'custom') === true) out.add(path)
    const child = (x: unknown, p = path): void => walk(x, p, false)
    if (def.type === 'object') for (const [k, v] of Object.entries(def.shape ?? {})) child(v, path === '' ? k : `${path}.${k}`)
    else if (def.type === 'union') for (const o of def.options ?? []) child(o)
    else if (def.innerType !== undefined) child(def.innerType)
    else if (def.element !== undefined) child(def.element)
    else if (def.valueType !== undefined) child(def.valueType)
  }
  walk(schema, '', true)
  return [...out]
}

/**
 * The JSDoc comment of each field of each `export const <name> = z.strictObject({ … })` in
 * schema.ts's source, by export name and field path (nested objects as `a.b`).
 */
export function fieldComments (source: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>()
  const start = /export const (\w+) = z\.strictObject\(\{/g
  for (let m = start.exec(source); m !== null; m = start.exec(source)) {
    const fields: Record<string, string> = {}
    const stack: string[] = []
    let depth = 1
    let comment: string[] | undefined
    let pending: string | undefined
    for (const line of source.slice(m.index + m[0].length).split('\n')) {
      const t = line.trim()
      if (comment !== undefined || t.startsWith('/**')) {
        comment ??= []
        comment.push(t.replace(/^\/\*\*/, '').replace(/\*\/$/, '').replace(/^\*(?!\/)/, '').trim())
        if (t.endsWith('*/')) {
          pending = comment.filter(x => x !== '').join(' ')
          comment = undefined
        }
        continue
      }
      const field = /^(\w+)\s*:/.exec(t)?.[1]
      if (field !== undefined && pending !== undefined) fields[[...stack.slice(0, depth - 1), field].join('.')] = pending
      if (field !== undefined || t !== '') pending = undefined
      const opens = (t.match(/\{/g) ?? []).length
      const closes = (t.match(/\}/g) ?? []).length
      if (opens > closes && field !== undefined) stack[depth - 1] = field
      depth += opens - closes
      if (depth <= 0) break
    }
    out.set(m[1] as string, fields)
  }
  return out
}

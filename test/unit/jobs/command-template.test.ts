import { isAbsolute, join, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { JOB_TYPE_NAMES } from '../../../src/core/vocabulary.js'
import {
  MAX_ARG_CHARS, MAX_TEMPLATE_ARGS, PLACEHOLDER_NAMES, defaultCommandTemplate, expandTemplate, resolveCommandTemplate,
  templatePlaceholders, templateValuesForJob, workloadPath, workloadsDir, type TemplateValues
} from '../../../src/jobs/command-template.js'
import { TemplateError } from '../../../src/jobs/errors.js'

function thrown (fn: () => unknown): TemplateError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateError)
    return err as TemplateError
  }
  throw new Error('expected a TemplateError')
}

const values: TemplateValues = {
  jobId: 'e1-abc-x.1', board: 'hex8', players: 3, engineMode: 'mcts', games: 100,
  outputDir: '/data/jobs/e1-abc-x.1/out', config: 'hex8_3p'
}

describe('expandTemplate', () => {
  const table: Array<{ name: string, template: string[], argv: string[] }> = [
    { name: 'whole elements', template: ['bin', '--board', '{board}', '--players', '{players}'], argv: ['bin', '--board', 'hex8', '--players', '3'] },
    { name: 'embedded in an element', template: ['bin', '--out={outputDir}', '{board}_{players}p'], argv: ['bin', '--out=/data/jobs/e1-abc-x.1/out', 'hex8_3p'] },
    { name: 'no placeholders', template: ['/usr/bin/env', 'true'], argv: ['/usr/bin/env', 'true'] },
    { name: 'escaped braces', template: ['bin', '{{"games": {games}}}'], argv: ['bin', '{"games": 100}'] },
    { name: 'a placeholder used twice', template: ['bin', '{jobId}', '{jobId}.log'], argv: ['bin', 'e1-abc-x.1', 'e1-abc-x.1.log'] }
  ]
  it.each(table)('expands $name', ({ template, argv }) => {
    expect(expandTemplate(template, values)).toEqual(argv)
  })

  it('inserts values as they are: shell syntax and braces in a value stay literal', () => {
    const v = { ...values, board: '$(rm -rf /); `x` | y > z {jobId}', modelPath: "a b 'c' \"d\"" }
    expect(expandTemplate(['bin', '{board}', '--model', '{modelPath}'], v)).toEqual(['bin', '$(rm -rf /); `x` | y > z {jobId}', '--model', "a b 'c' \"d\""])
  })

  it('stringifies numbers and booleans, keeps an empty string', () => {
    expect(expandTemplate(['bin', '{games}', '{seed}', '{modelPath}'], { games: 2.5, seed: true, modelPath: '' })).toEqual(['bin', '2.5', 'true', ''])
  })

  it('names an unknown placeholder', () => {
    const err = thrown(() => expandTemplate(['bin', '--x={boardd}'], values))
    expect(err.placeholder).toBe('boardd')
    expect(err.message).toContain('{boardd}')
  })

  it.each([undefined, null])('names a placeholder whose value is %s', v => {
    const err = thrown(() => expandTemplate(['bin', '{modelPath}'], { ...values, modelPath: v }))
    expect(err.placeholder).toBe('modelPath')
    expect(err.message).toContain('no value for placeholder {modelPath}')
  })

  it('does not take a value from the prototype chain', () => {
    const err = thrown(() => expandTemplate(['bin', '{modelPath}'], Object.create({ modelPath: 'x' }) as TemplateValues))
    expect(err.placeholder).toBe('modelPath')
  })

  it.each([
    ['a lone {', ['bin', 'a{b']],
    ['a lone }', ['bin', 'a}b']],
    ['an empty placeholder', ['bin', '{}']],
    ['a placeholder that is not a name', ['bin', '{board players}']],
    ['a nested brace', ['bin', '{{board}']]
  ])('rejects %s', (_name, template) => {
    const err = thrown(() => expandTemplate(template, values))
    expect(err.name).toBe('TemplateError')
  })

  it('rejects a non-finite number and a NUL in a value', () => {
    expect(thrown(() => expandTemplate(['bin', '{games}'], { games: Number.NaN })).placeholder).toBe('games')
    expect(thrown(() => expandTemplate(['bin', '{board}'], { board: 'a\0b' })).placeholder).toBe('board')
  })

  it('accepts extra placeholders only when declared', () => {
    expect(thrown(() => expandTemplate(['bin', '{epochs}'], { epochs: 3 })).placeholder).toBe('epochs')
    expect(expandTemplate(['bin', '{epochs}'], { epochs: 3 }, { extraPlaceholders: ['epochs'] })).toEqual(['bin', '3'])
    expect(() => expandTemplate(['bin'], {}, { extraPlaceholders: ['bad name'] })).toThrow(TemplateError)
  })

  it('enforces its limits', () => {
    expect(() => expandTemplate([], {})).toThrow(TemplateError)
    expect(() => expandTemplate([''], {})).toThrow(TemplateError)
    expect(() => expandTemplate(Array.from({ length: MAX_TEMPLATE_ARGS + 1 }, () => 'x'), {})).toThrow(TemplateError)
    expect(() => expandTemplate(['bin', '{board}'], { board: 'x'.repeat(MAX_ARG_CHARS + 1) })).toThrow(/longer than/)
    expect(() => expandTemplate(['bin', ...Array.from({ length: 20 }, () => '{board}')], { board: 'x'.repeat(MAX_ARG_CHARS) })).toThrow(/expanded command/)
  })
})

describe('templatePlaceholders', () => {
  it('lists the placeholders in order of first use', () => {
    expect(templatePlaceholders(['bin', '{board}_{players}p', '{board}', '{{literal}}', '{jobId}'])).toEqual(['board', 'players', 'jobId'])
  })

  it('rejects an unknown one without needing values', () => {
    expect(thrown(() => templatePlaceholders(['bin', '{nope}'])).placeholder).toBe('nope')
  })
})

describe('templateValuesForJob', () => {
  const base = { jobId: 'e1-a-b.2', type: 'selfplay' as const, dataDir: '/d', workDir: '/d/jobs/e1-a-b.2', outputDir: '/d/jobs/e1-a-b.2/out' }

  it('derives board and players from the config key', () => {
    expect(templateValuesForJob({ ...base, config: 'hexagonal_4p', engineMode: 'brs', runner: 'hybrid' })).toMatchObject({
      config: 'hexagonal_4p', board: 'hexagonal', players: '4', engineMode: 'brs', runner: 'hybrid', jobType: 'selfplay'
    })
  })

  it('takes spec entries, but the job fields win over a spec entry of the same name', () => {
    const v = templateValuesForJob({ ...base, spec: { games: 50, modelPath: '/m.pt', jobId: 'forged', outputDir: '/etc' } })
    expect(v).toMatchObject({ games: 50, modelPath: '/m.pt', jobId: 'e1-a-b.2', outputDir: '/d/jobs/e1-a-b.2/out' })
  })

  it('passes the dispatch\'s model to the default selfplay template, and no model for a dispatch of an older leader that names none', () => {
    const tpl = defaultCommandTemplate('selfplay')
    const withModel = expandTemplate(tpl, templateValuesForJob({ ...base, config: 'hex8_2p', engineMode: 'nnue-guided', runner: 'hybrid', spec: { games: 5, modelPath: 'models/m.json' } }))
    expect(withModel.slice(withModel.indexOf('--model'), withModel.indexOf('--model') + 2)).toEqual(['--model', 'models/m.json'])
    const old = expandTemplate(tpl, templateValuesForJob({ ...base, config: 'hex8_2p', engineMode: 'heuristic', runner: 'hybrid', spec: { games: 5 } }))
    expect(old.slice(old.indexOf('--model'), old.indexOf('--model') + 2)).toEqual(['--model', ''])
  })

  it('leaves config-derived values missing without a config, so a template using them fails by name', () => {
    const v = templateValuesForJob({ ...base, config: null })
    expect(thrown(() => expandTemplate(['bin', '{board}'], v)).placeholder).toBe('board')
  })
})

describe('default templates', () => {
  it('resolve the workloads dir to dist/src/workloads from a source or a built module', () => {
    expect(workloadsDir(pathToFileURL('/pkg/src/jobs/command-template.ts').href)).toBe(join('/pkg', 'dist', 'src', 'workloads'))
    expect(workloadsDir(pathToFileURL('/pkg/dist/src/jobs/command-template.js').href)).toBe(join('/pkg', 'dist', 'src', 'workloads'))
    expect(isAbsolute(workloadPath('selfplay'))).toBe(true)
    expect(workloadPath('selfplay').endsWith(`${sep}dist${sep}src${sep}workloads${sep}selfplay.js`)).toBe(true)
  })

  it.each([...JOB_TYPE_NAMES])('exist for %s, run the workload with this Node and expand from a full job', type => {
    const t = defaultCommandTemplate(type)
    expect(t[0]).toBe(process.execPath)
    expect(t[1]).toBe(workloadPath(type === 'training' ? 'train' : type))
    const v = templateValuesForJob({
      jobId: 'e1-a-b.3', type, config: 'square8_2p', engineMode: 'heuristic', runner: 'gpu',
      dataDir: '/d', workDir: '/d/jobs/e1-a-b.3', outputDir: '/d/jobs/e1-a-b.3/out',
      spec: { games: 10, modelPath: 'models/m.json', baselineModelPath: '', modelAPath: 'models/a.json', modelBPath: 'models/b.json' }
    })
    const argv = expandTemplate(t, v)
    expect(argv).toContain('e1-a-b.3')
    expect(argv.some(a => a.includes('{'))).toBe(false)
  })

  it('differ by runner for selfplay', () => {
    const hybrid = defaultCommandTemplate('selfplay', 'hybrid')
    const gpu = defaultCommandTemplate('selfplay', 'gpu')
    expect(hybrid).toContain('hybrid')
    expect(gpu).toContain('gpu')
    expect(hybrid.slice(0, 2)).toEqual([process.execPath, workloadPath('selfplay')])
    for (const p of templatePlaceholders(hybrid)) expect(PLACEHOLDER_NAMES).toContain(p)
  })

  it('give way to templates from settings, per type and per selfplay runner', () => {
    const mine = ['/opt/sp.sh', '{board}']
    expect(resolveCommandTemplate('training', 'hybrid', { training: mine })).toBe(mine)
    expect(resolveCommandTemplate('selfplay', 'gpu', { selfplay: mine })).toBe(mine)
    expect(resolveCommandTemplate('selfplay', 'gpu', { selfplay: { hybrid: mine } })).toEqual(defaultCommandTemplate('selfplay', 'gpu'))
    expect(resolveCommandTemplate('selfplay', 'hybrid', { selfplay: { hybrid: mine } })).toBe(mine)
    expect(resolveCommandTemplate('export')).toEqual(defaultCommandTemplate('export'))
  })
})

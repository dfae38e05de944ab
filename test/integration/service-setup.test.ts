/**
 * The service set-up of docs/OPERATIONS.md, as written there. The sh blocks marked
 * `service-setup` (§1: the command on PATH, the service's user and its two directories; §2: the
 * swarm key; §3: the config file) run as root, with /etc, /var/lib and /usr/local/bin under a temp
 * dir, /opt/riftmesh the checkout under test, and the user renamed to one made for this run. Then
 * the node starts as §7's unit says — its User, Group, WorkingDirectory and ExecStart — with
 * setpriv, a second node joins it through its address, and §7's `status` command, run as the
 * service's user, shows the two connected. Needs root, useradd, userdel and setpriv; elsewhere it
 * reports itself skipped with the reason. Every process, file and user it makes is removed, also
 * on failure.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { SystemClock } from '../../src/core/clock.js'
import { runningJobs, stopJobs } from '../../src/jobs/leftovers.js'
import { startNodeProcess, type NodeProcess } from '../support/node-process.js'

const repo = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')
const MARK = '<!-- service-setup: test/integration/service-setup.test.ts'

function missingTool (): string | null {
  for (const tool of ['useradd', 'userdel', 'setpriv', 'install', 'bash']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`
  }
  return null
}
const why = process.getuid?.() !== 0 ? 'needs root (it creates a system user)' : missingTool()
if (why !== null) console.log(`service-setup test skipped: ${why}`)

/** The code blocks of `lang` that follow a service-setup mark, in document order. */
function markedBlocks (markdown: string, lang: string): string[] {
  const re = new RegExp(`${MARK}[^\\n]*-->\\n\`\`\`${lang}\\n([\\s\\S]*?)\\n\`\`\``, 'g')
  return [...markdown.matchAll(re)].map(m => m[1] as string)
}

interface Machine { repo: string, prefix: string, user: string }

/** The guide's paths and user name as they are on this test machine. */
function onThisMachine (text: string, m: Machine): string {
  return text
    .replace(/\/opt\/riftmesh(?![\w.-])/g, m.repo)
    .replace(/(\/usr\/local\/bin|\/etc\/riftmesh|\/var\/lib\/riftmesh)(?![\w.-])/g, `${m.prefix}$1`)
    .replace(/(^|\s)(-[ogu]\s+)riftmesh(?=\s|$)/gm, `$1$2${m.user}`)
    .replace(/(^|\s)riftmesh:riftmesh(?=\s|$)/gm, `$1${m.user}:${m.user}`)
    .replace(/^(User|Group)=riftmesh$/gm, `$1=${m.user}`)
    .replace(/^(sudo useradd\s.*\s)riftmesh(\s*(#.*)?)$/gm, `$1${m.user}$2`)
}

/**
 * Refuse to run a script that names a path outside the temp dir and the checkout (it runs as
 * root: a change to the guide must never make this test touch the machine's own /etc).
 */
function assertConfined (script: string, m: Machine): void {
  const allowed = [m.prefix, m.repo, '/usr/sbin/nologin']
  const outside = (script.match(/(?<![\w.~$-])\/[\w./-]+/g) ?? []).filter(p => !allowed.some(a => p === a || p.startsWith(`${a}/`)))
  if (outside.length > 0) throw new Error(`the marked steps name paths outside the test's dirs: ${outside.join(', ')}`)
}

/** bash with `sudo` as the guide uses it: plain as root, `-u USER` through setpriv. */
const SUDO = 'sudo () { if [ "$1" = -u ]; then local u="$2"; shift 2; setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"; else "$@"; fi; }'

function runSteps (script: string, m: Machine, cwd: string): string {
  assertConfined(script, m)
  const r = spawnSync('bash', ['-c', `set -euo pipefail\n${SUDO}\n${script}`], {
    cwd, encoding: 'utf8', env: { ...process.env, PATH: `${m.prefix}/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` }
  })
  if (r.status !== 0) throw new Error(`the guide's steps failed (exit ${r.status}):\n${script}\n--- stderr:\n${r.stderr}`)
  return r.stdout
}

/** The uid of each running process owned by `uid` (for the clean-up of the test's own user). */
async function processesOf (uid: number): Promise<number[]> {
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '')
    if (new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status)) pids.push(Number(name))
  }
  return pids
}

describe.skipIf(why !== null)(`the service set-up of docs/OPERATIONS.md, as a non-root user${why === null ? '' : ` (skipped: ${why})`}`, () => {
  const clock = new SystemClock()
  const user = `riftmesh-test-${randomBytes(3).toString('hex')}`
  let m: Machine | undefined
  let guide: string
  let service: ChildProcess | undefined
  let serviceOut = ''
  let second: NodeProcess | undefined

  beforeAll(async () => {
    guide = await readFile(join(repo, 'docs', 'OPERATIONS.md'), 'utf8')
    // like / itself: the system directories the guide writes into are 0755 and root's
    const prefix = await mkdtemp('/tmp/svc-setup-')
    m = { repo, prefix, user }
    await chmod(prefix, 0o755)
    for (const d of ['etc', 'var/lib', 'usr/local/bin', 'work']) await mkdir(join(prefix, d), { recursive: true, mode: 0o755 })
    expect(spawnSync('id', [user]).status).not.toBe(0) // a fresh name
  })

  afterAll(async () => {
    const problems: unknown[] = []
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try { await fn() } catch (err) { problems.push(new Error(`clean-up: ${what}: ${String(err)}`)) }
    }
    await step('second node', async () => await second?.stop())
    await step('service node', async () => {
      if (service === undefined || service.exitCode !== null || service.signalCode !== null) return
      const exited = new Promise(resolve => service?.once('exit', resolve))
      service.kill('SIGTERM')
      const guard = clock.setTimer(() => service?.kill('SIGKILL'), 15_000)
      await exited
      clock.clearTimer(guard)
    })
    const prefix = m?.prefix
    if (prefix === undefined) return
    await step('jobs', async () => {
      const dirs = [join(prefix, 'var/lib/riftmesh'), join(prefix, 'second-node')]
      await stopJobs((await Promise.all(dirs.map(async d => await runningJobs(d, clock)))).flat(), { clock, graceMs: 5_000 })
    })
    const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' })
    if (uid.status === 0) {
      // every process of this user was started by this test: the user did not exist before it
      await step('the user\'s processes', async () => {
        for (const pid of await processesOf(Number(uid.stdout.trim()))) process.kill(pid, 'SIGKILL')
      })
      await step('userdel', async () => { execFileSync('userdel', [user]) })
    }
    await step('temp dir', async () => await rm(prefix, { recursive: true, force: true }))
    if (problems.length > 0) throw new AggregateError(problems, 'service-setup clean-up failed')
  }, 60_000)

  it('runs the documented steps, starts the node as the service user the way the unit does, and a second node joins it', async ({ skip }) => {
    if (m === undefined) throw new Error('no temp dir')
    const machine = m
    const steps = markedBlocks(guide, 'sh')
    expect(steps.length).toBeGreaterThanOrEqual(3) // §1 user and directories, §2 key, §3 config
    const units = markedBlocks(guide, 'ini')
    expect(units).toHaveLength(1)

    // the config file of §3, from its example with this machine's paths, as the first node of a cluster
    const example = /```yaml\n(# \/etc\/riftmesh\/riftmesh\.yaml\n[\s\S]*?)\n```/.exec(guide)?.[1]
    expect(example).toBeDefined()
    const config = YAML.parse(onThisMachine(example as string, machine)) as { node: Record<string, unknown> }
    config.node.listen = ['/ip4/127.0.0.1/tcp/0']
    delete config.node.bootstrap
    await writeFile(join(machine.prefix, 'work', 'riftmesh.yaml'), YAML.stringify(config))

    runSteps(steps.map(s => onThisMachine(s, machine)).join('\n'), machine, join(machine.prefix, 'work'))

    // the checkout must be readable by the new user; when it is not (a checkout under a private home), say so
    const probe = spawnSync('setpriv', [`--reuid=${user}`, `--regid=${user}`, '--init-groups', '--', join(repo, 'bin', 'riftmesh'), '--version'], { encoding: 'utf8' })
    if (probe.status !== 0) {
      console.log(`service-setup test skipped: the checkout ${repo} is not readable by a new system user (see namei -l ${repo}): ${probe.stderr.trim()}`)
      skip()
    }

    // §7: the unit's user, group, working directory and command line
    const unit = onThisMachine(units[0] as string, machine)
    const field = (name: string): string => {
      const v = new RegExp(`^${name}=(.+)$`, 'm').exec(unit)?.[1]
      expect(v, `${name}= in the unit`).toBeDefined()
      return v as string
    }
    expect([field('User'), field('Group')]).toEqual([user, user])
    const home = (execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).split(':')[5] ?? '/').trim()
    const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, USER: user, LOGNAME: user }
    service = spawn('setpriv', [`--reuid=${field('User')}`, `--regid=${field('Group')}`, '--init-groups', '--', ...field('ExecStart').split(/\s+/)], {
      cwd: field('WorkingDirectory'), env, stdio: ['ignore', 'pipe', 'pipe']
    })
    service.stdout?.on('data', (d: Buffer) => { serviceOut += d.toString() })
    service.stderr?.on('data', (d: Buffer) => { serviceOut += d.toString() })
    await expect.poll(() => serviceOut, { timeout: 30_000, interval: 100 }).toMatch(/^listening \S+$|^riftmesh node: .*$/m)
    const addr = /^listening (\S+)$/m.exec(serviceOut)?.[1]
    expect(addr, `the service node did not start:\n${serviceOut}`).toBeDefined()
    expect(serviceOut).not.toContain('chmod 600') // the key as §2 leaves it is the service's alone
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim())
    const status = await readFile(`/proc/${service.pid as number}/status`, 'utf8')
    expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s`, 'm')) // really the service's user, not root

    // a second node (root's, its own data dir) joins through the service node's address
    second = await startNodeProcess(join(machine.prefix, 'second-node'), ['--swarm-key', join(machine.prefix, 'etc/riftmesh/swarm.key'), '--bootstrap', addr as string])

    // §7's status command, as the service's user, against the service node's control socket
    const statusLine = /^sudo -u riftmesh riftmesh status .*$/m.exec(guide.slice(guide.indexOf('## 7.')))?.[0]
    expect(statusLine).toBeDefined()
    const statusCmd = `${onThisMachine(statusLine as string, machine).replace(/\s+#.*$/, '')} --json`
    await expect.poll(() => {
      const mesh = (JSON.parse(runSteps(statusCmd, machine, '/')) as { mesh: { aliveMembers: number, connectedAliveMembers: number, peers: Array<{ nodeId: string, connected: boolean }> } }).mesh
      return { alive: mesh.aliveMembers, connected: mesh.connectedAliveMembers, peers: mesh.peers.filter(p => p.connected).map(p => p.nodeId) }
    }, { timeout: 30_000, interval: 500 }).toEqual({ alive: 1, connected: 1, peers: [second.peerId] })
  }, 120_000)
})

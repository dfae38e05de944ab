/**
 * libp2p's "Some configured addresses failed to be listened on …" paragraph (with advice about a
 * libp2p option that is no riftmesh key, and stack frames) turned into one ListenError that
 * names the address, the problem and the riftmesh flag that fixes it. Pure functions.
 */
import { ListenError } from '../core/errors.js'

/** One address libp2p could not listen on, and its first line of error text. */
export interface ListenFailure {
  address: string
  error: string
}

/** The `  <multiaddr>: <error>` lines of libp2p's listen failure message. */
export function parseListenFailures (message: string): ListenFailure[] {
  const out: ListenFailure[] = []
  for (const line of message.split('\n')) {
    const m = /^\s+(\/\S+): (.+)$/.exec(line)
    if (m !== null) out.push({ address: m[1] as string, error: (m[2] as string).trim() })
  }
  return out
}

const DEFAULT_TCP_EXAMPLE = '/ip4/0.0.0.0/tcp/4100'

/** What to tell about one failed listen address, in riftmesh terms. */
export function explainListenFailure (f: ListenFailure): string {
  const tcp = /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d+)/.exec(f.address)
  const host = tcp?.[2]
  const port = tcp !== null ? Number(tcp[3]) : undefined
  if (/EADDRINUSE/.test(f.error) && port !== undefined) {
    const next = f.address.replace(/\/tcp\/\d+/, `/tcp/${port + 1}`)
    return `port ${port} is in use (another riftmesh node? pick another with --listen ${next})`
  }
  if (/EADDRNOTAVAIL/.test(f.error) && port !== undefined) {
    return `${host ?? 'the host'} is not an address of this machine (listen on every interface with --listen /ip4/0.0.0.0/tcp/${port}, or give one of this machine's addresses)`
  }
  if (/EACCES/.test(f.error) && port !== undefined) {
    return `port ${port} needs privileges (ports below 1024 are reserved to root); pick one from 1024 up, e.g. --listen ${DEFAULT_TCP_EXAMPLE}`
  }
  if (/UnsupportedListenAddress|No transport/i.test(f.error) || tcp === null) {
    return `riftmesh listens on TCP only; give an address such as --listen ${DEFAULT_TCP_EXAMPLE}`
  }
  return `cannot listen there (${f.error})`
}

/** The ListenError for libp2p's start failure `message`, or undefined when it is not about listening. */
export function listenError (message: string, cause?: unknown): ListenError | undefined {
  const first = parseListenFailures(message)[0]
  if (first === undefined) return undefined
  return new ListenError('--listen', first.address, explainListenFailure(first), { cause })
}

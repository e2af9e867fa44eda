// Puts the capture rules (rules.ts) into the router's firewall and takes them out again, so that
// capture exists only while this process serves it.
//
// Fail open: the rules name this process (ugate_<pid>). Before adding any, ugate starts a guard: a
// shell whose stdin is a pipe only ugate holds. However ugate ends (stop, crash, SIGKILL, OOM), the
// kernel closes that pipe, the guard reads end of file and deletes exactly this process's rules, so
// LAN traffic flows as if ugate were not there. Rules left by a process whose guard did not run
// either are removed at the next start.

import type { CaptureConfig, Config } from '../config/model.ts';
import { isLoopbackBind } from '../config/schema.ts';
import type { Runtime, TiedChild } from '../runtime/types.ts';
import { OWN_NAME, removeIptablesCommand, removeNftCommand, renderIptables, renderNft, type CapturePlan } from './rules.ts';

export type Backend = 'nftables' | 'iptables';

export class CaptureError extends Error {}

/** What the firewall must do for `config`: pure, given the devices the zones resolved to. */
export function capturePlan(config: Config, name: string, zoneDevices: string[]): CapturePlan {
  const c = config.capture;
  const redirect = config.listeners.find((l) => (c.listener ? l.name === c.listener : l.type === 'redirect'));
  const open = config.listeners.flatMap((l) => l.listen.filter((a) => !isLoopbackBind(a.host) && a.port !== 0).map((a) => a.port));
  return {
    name,
    devices: [...new Set([...zoneDevices, ...c.devices])].filter((d) => d !== 'lo'),
    capture: c.enabled,
    ports: c.ports,
    redirectPort: redirect?.listen.find((a) => !isLoopbackBind(a.host))?.port ?? 0,
    family: c.family,
    excludeSources: c.excludeSources,
    excludeMacs: c.excludeMacs,
    excludeDestinations: c.excludeDestinations,
    quic: c.quic,
    guardPorts: [...new Set(open)].sort((a, b) => a - b),
  };
}

/** The rules as text, for `ugate capture` and the log. */
export function renderPlan(plan: CapturePlan, backend: Backend): string {
  if (backend === 'nftables') return renderNft(plan);
  return [renderIptables(plan, 4), renderIptables(plan, 6)].map((t, i) => (t ? `# ${i === 0 ? 'iptables' : 'ip6tables'}-restore --noflush\n${t}` : '')).join('');
}

/**
 * Firewall tools run from the system's directories only: an inherited PATH (a developer's
 * node_modules/.bin has an unrelated "nft", for one) must not choose what changes the firewall.
 */
const sh = (script: string, ...args: string[]) => ['/bin/sh', '-c', `PATH=/usr/sbin:/usr/bin:/sbin:/bin; ${script}`, 'sh', ...args];

export class FirewallCapture {
  private guard: TiedChild | null = null;
  private backend: Backend | null = null;
  readonly name: string;

  constructor(private readonly rt: Runtime) {
    this.name = `ugate_${rt.pid}`;
  }

  private async tools(): Promise<Set<string>> {
    const r = await this.rt.run(sh('for t in fw4 fw3 nft iptables-restore; do command -v $t >/dev/null && echo $t; done'));
    return new Set(r.stdout.split('\n').filter(Boolean));
  }

  /** nftables where fw4 runs (or no fw3 but nft), iptables where fw3 runs; an explicit choice wins. */
  async chooseBackend(c: CaptureConfig): Promise<{ backend: Backend; zoneTool: string | null; installed: boolean }> {
    const t = await this.tools();
    let backend: Backend;
    if (c.firewall !== 'auto') backend = c.firewall;
    else if (t.has('fw4')) backend = 'nftables';
    else if (t.has('fw3')) backend = 'iptables';
    else backend = t.has('nft') ? 'nftables' : 'iptables';
    // zones as the firewall of the same kind sees them (fw4 for nftables, fw3 for iptables)
    const order = backend === 'nftables' ? ['fw4', 'fw3'] : ['fw3', 'fw4'];
    const zoneTool = order.find((x) => t.has(x)) ?? null;
    return { backend, zoneTool, installed: t.has(backend === 'nftables' ? 'nft' : 'iptables-restore') };
  }

  /** The devices of the firewall zones, as fw4/fw3 name them. */
  async zoneDevices(zones: string[], zoneTool: string | null): Promise<string[]> {
    if (zones.length === 0) return [];
    if (!zoneTool) throw new CaptureError('capture.zones: zones need OpenWrt\'s firewall (fw4 or fw3); name devices in capture.devices instead');
    const out: string[] = [];
    for (const z of zones) {
      const r = await this.rt.run(sh(`${zoneTool} -q zone "$1"`, z));
      if (r.status !== 0) throw new CaptureError(`capture.zones: ${zoneTool} knows no zone "${z}" (is the firewall running? "${zoneTool} -q zone ${z}" exited with ${r.status ?? r.signal})`);
      out.push(...r.stdout.split(/\s+/).filter(Boolean));
    }
    return out;
  }

  /** Resolves zones and renders; throws CaptureError naming the setting at fault. */
  async plan(config: Config): Promise<{ plan: CapturePlan; backend: Backend; installed: boolean }> {
    const { backend, zoneTool, installed } = await this.chooseBackend(config.capture);
    const plan = capturePlan(config, this.name, await this.zoneDevices(config.capture.zones, zoneTool));
    if (plan.devices.length === 0) {
      const zones = config.capture.zones.map((z) => `"${z}"`).join(', ');
      throw new CaptureError(`capture.zones: zone ${zones} has no device yet (is its network up?), and capture.devices names none`);
    }
    return { plan, backend, installed };
  }

  /** Installs (or replaces) this process's rules; the guard is in place before any rule is. */
  async apply(config: Config): Promise<{ plan: CapturePlan; backend: Backend }> {
    const { plan, backend, installed } = await this.plan(config);
    if (!installed) throw new CaptureError(`capture.firewall: ${backend} needs "${backend === 'nftables' ? 'nft' : 'iptables-restore'}", which is not installed`);
    await this.removeStale();
    if (this.backend !== backend) {
      if (this.backend) await this.removeRules(this.backend);
      this.startGuard(backend);
    }
    // set before installing, so that remove() also clears a half-done install
    this.backend = backend;
    if (backend === 'nftables') {
      await this.check(sh('printf "%s" "$1" | nft -f -', renderNft(plan)), 'nft');
    } else {
      // iptables has no atomic replace: the old chains go first, then the new ones come in.
      await this.rt.run(sh(removeIptablesCommand(this.name)));
      for (const ipv of [4, 6] as const) {
        const text = renderIptables(plan, ipv);
        const tool = ipv === 4 ? 'iptables-restore' : 'ip6tables-restore';
        if (text) await this.check(sh(`printf "%s" "$1" | ${tool} -w --noflush`, text), tool);
      }
    }
    return { plan, backend };
  }

  private async check(argv: string[], what: string): Promise<void> {
    const r = await this.rt.run(argv);
    if (r.status !== 0) throw new CaptureError(`${what} refused the rules: ${(r.stderr || r.stdout).trim() || `exit ${r.status ?? r.signal}`}`);
  }

  private startGuard(backend: Backend): void {
    this.guard?.kill();
    const remove = backend === 'nftables' ? removeNftCommand(this.name) : removeIptablesCommand(this.name);
    // It ignores the signals a terminal or procd's reload might send it; only end of file moves it.
    this.guard = this.rt.spawnTied(sh(`trap '' HUP INT QUIT TERM USR1 USR2 PIPE; read -r _; ${remove}`));
  }

  private async removeRules(backend: Backend): Promise<void> {
    await this.rt.run(sh(backend === 'nftables' ? removeNftCommand(this.name) : removeIptablesCommand(this.name)));
  }

  /** Removes this process's rules and its guard. */
  async remove(): Promise<void> {
    if (this.backend) await this.removeRules(this.backend);
    this.backend = null;
    this.guard?.kill();
    this.guard = null;
  }

  /** Rules of ugate processes that are gone (whose guard could not run): removed before adding ours. */
  async removeStale(): Promise<string[]> {
    const t = await this.tools();
    const names = new Set<string>();
    if (t.has('nft')) {
      const r = await this.rt.run(sh('nft list tables inet'));
      for (const m of r.stdout.matchAll(/^table inet (ugate_\d+)$/gm)) names.add(m[1]!);
    }
    if (t.has('iptables-restore')) {
      const r = await this.rt.run(sh('for t in iptables ip6tables; do for n in nat filter; do $t-save -t $n 2>/dev/null; done; done'));
      for (const m of r.stdout.matchAll(/^:(ugate_\d+)_[a-z]+ /gm)) names.add(m[1]!);
    }
    const stale: string[] = [];
    for (const n of names) {
      const pid = Number(OWN_NAME.exec(n)![1]);
      if (pid === this.rt.pid || (await this.isUgate(pid))) continue;
      stale.push(n);
      await this.rt.run(sh(`${removeNftCommand(n)}; ${removeIptablesCommand(n)}`));
    }
    return stale;
  }

  private async isUgate(pid: number): Promise<boolean> {
    try {
      const cmdline = new TextDecoder().decode(await this.rt.readFile(`/proc/${pid}/cmdline`));
      return cmdline.includes('ugate');
    } catch {
      return false;
    }
  }
}

/**
 * CPU accounting for the benches: CPU seconds of each process group (this process, its reaped children, the
 * PostgreSQL server with its backends, Azurite), so a wall time can be explained by who spent it.
 *
 * The server's share is read from a cgroup of its own when this machine lets the bench make one (root, cgroup v1
 * `cpuacct` or v2): the kernel then counts every backend, parallel worker and autovacuum worker, also those
 * that started and ended between two readings. Otherwise from /proc: the postmaster's reaped children plus the
 * live ones' user time, which misses the live processes' system time (the WAL writer's and checkpointer's
 * writes) and can under-count a phase by several seconds; the JSON says which (`cpuSource`).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/** CPU seconds of each process group during one timed phase. */
export interface CpuSplit {
  readonly tool: number;
  readonly children: number;
  readonly postgres: number;
  readonly azurite: number;
}

/** Clock ticks from /proc/<pid>/stat: [utime+stime, cutime+cstime] (children reaped so far). */
function procTicks(pid: number): [number, number] {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [Number(f[11]) + Number(f[12]), Number(f[13]) + Number(f[14])];
  } catch {
    return [0, 0];
  }
}

/** Live children of `ppid`, from /proc. */
function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) === ppid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Every live descendant of `pid`, and `pid` itself. */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childPids(out[i]!));
  return out;
}

/** Where the kernel counts a group's CPU: a cgroup v1 `cpuacct` or v2 directory, and how to read it in seconds. */
interface CpuCgroup {
  readonly dir: string;
  readonly seconds: () => number;
}

/**
 * A fresh cgroup holding `pid`'s whole tree (its future children are born into it), or undefined when this
 * machine does not let the bench make one.
 */
function cgroupOf(name: string, pid: number): CpuCgroup | undefined {
  const v1 = "/sys/fs/cgroup/cpuacct";
  const v2 = "/sys/fs/cgroup/cgroup.controllers";
  const base = existsSync(v1) ? v1 : existsSync(v2) ? "/sys/fs/cgroup" : undefined;
  if (base === undefined || pid <= 0) return undefined;
  const dir = path.join(base, `dr-bench-${process.pid}-${name}`);
  try {
    mkdirSync(dir);
    writeFileSync(path.join(dir, "cgroup.procs"), `${pid}\n`);
  } catch {
    return undefined;
  }
  // Its children born before the move (backends, background workers); one that ended meanwhile is not there.
  for (const p of processTree(pid).slice(1)) {
    try {
      writeFileSync(path.join(dir, "cgroup.procs"), `${p}\n`);
    } catch {
      // gone meanwhile
    }
  }
  const seconds =
    base === v1
      ? () => Number(readFileSync(path.join(dir, "cpuacct.usage"), "utf8")) / 1e9
      : () => Number(/^usage_usec (\d+)$/m.exec(readFileSync(path.join(dir, "cpu.stat"), "utf8"))?.[1]) / 1e6;
  return { dir, seconds };
}

/** Moves what is left in the cgroup to its parent and removes it. */
function removeCgroup(g: CpuCgroup): void {
  try {
    const parent = path.join(path.dirname(g.dir), "cgroup.procs");
    for (const p of readFileSync(path.join(g.dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
      writeFileSync(parent, `${p}\n`);
    }
    rmdirSync(g.dir);
  } catch {
    // the processes are gone with the servers; a leftover empty cgroup is harmless
  }
}

/** Snapshots of the process groups' CPU: through cgroups where the machine allows, else /proc. */
export class CpuMeter {
  private constructor(
    private readonly postmaster: number,
    private readonly azurite: number,
    private readonly groups: { postgres?: CpuCgroup | undefined; azurite?: CpuCgroup | undefined },
  ) {}

  /** Puts the server's and Azurite's process trees into cgroups of their own when it can. */
  static open(postmaster: number, azurite: number): CpuMeter {
    return new CpuMeter(postmaster, azurite, {
      postgres: cgroupOf("postgres", postmaster),
      azurite: cgroupOf("azurite", azurite),
    });
  }

  /** How the server's CPU is counted: `cgroup` (every process, exact) or `proc` (see the file's comment). */
  get source(): "cgroup" | "proc" {
    return this.groups.postgres === undefined ? "proc" : "cgroup";
  }

  snapshot(): CpuSplit {
    const fromProc = cpuSnapshot(this.postmaster, this.azurite);
    return {
      ...fromProc,
      postgres: this.groups.postgres?.seconds() ?? fromProc.postgres,
      azurite: this.groups.azurite?.seconds() ?? fromProc.azurite,
    };
  }

  close(): void {
    for (const g of [this.groups.postgres, this.groups.azurite]) if (g !== undefined) removeCgroup(g);
  }
}

/**
 * CPU seconds so far of: this process, its reaped children (pg_dump, pg_restore, psql, gunzip, tar, zstd),
 * the PostgreSQL server (postmaster + its reaped backends + its live ones) and Azurite. USER_HZ is 100.
 */
function cpuSnapshot(postmaster: number, azurite: number): CpuSplit {
  const self = procTicks(process.pid);
  const pm = procTicks(postmaster);
  const live = childPids(postmaster).reduce((sum, pid) => sum + procTicks(pid)[0], 0);
  const az = procTicks(azurite);
  return {
    tool: self[0] / 100,
    children: self[1] / 100,
    postgres: (pm[0] + pm[1] + live) / 100,
    azurite: (az[0] + az[1]) / 100,
  };
}

export function cpuDelta(a: CpuSplit, b: CpuSplit): CpuSplit {
  return {
    tool: b.tool - a.tool,
    children: b.children - a.children,
    postgres: b.postgres - a.postgres,
    azurite: b.azurite - a.azurite,
  };
}

export const fmtCpu = (c: CpuSplit | undefined) =>
  c === undefined
    ? "–"
    : `${c.tool.toFixed(1)} / ${c.children.toFixed(1)} / ${c.postgres.toFixed(1)} / ${c.azurite.toFixed(1)}`;

/** The postmaster's pid, from the first line of the data directory's postmaster.pid. */
export function postmasterPid(dataDir: string): number {
  return Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
}

/** The pid of the Azurite process listening on `port` (its argv holds `--blobPort <port>`). */
export function azuritePid(port: number): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const i = argv.indexOf("--blobPort");
      if (i >= 0 && argv[i + 1] === String(port)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return -1;
}

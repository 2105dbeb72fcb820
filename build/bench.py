#!/usr/bin/env python3
"""PicGuard's performance figures (docs/performance.md). Run through build/bench.sh, which installs
and builds what this needs. Every timed command runs alone (CPU time from wait4); its peak RSS comes from one more
run under /usr/bin/time; wall time is taken around it with a monotonic clock. Tools are run alternately, round by
round, and medians are reported.

    bench.py PICGUARD [--jit PICGUARD.DLL] [--kernel-modules DIR] [--rounds N] [--only corpus,kernel,scaling,small,msbuild,piccheck]

PICGUARD is the command users run: build/bench.sh passes the picguard that `dotnet tool install`
put into a temporary tool path from the packages build/pack.sh wrote.
"""
import argparse
import glob
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = "/usr/lib/llvm-19/lib/*.a"


class Run:
    def __init__(self, wall, user, system, rss_kb, stderr):
        self.wall, self.user, self.system, self.rss_kb, self.stderr = wall, user, system, rss_kb, stderr

    @property
    def cpu(self):
        return self.user + self.system


def timed(argv, cwd=None, env=None, stdin=subprocess.DEVNULL):
    """Runs argv with stdout to /dev/null; returns wall and CPU time and the command's stderr, and its exit code.
    CPU time is the kernel's accounting of the child (wait4). Nothing wraps the command: /usr/bin/time's own start
    (about 3 ms here) would be counted in every wall time and flatten the ratios of short commands."""
    start = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=stdin, cwd=cwd, env=env, text=True)
    stderr = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, usage.ru_utime, usage.ru_stime, 0, stderr), p.returncode


def peak_rss_kb(argv, cwd=None, env=None, stdin=subprocess.DEVNULL):
    """The command's peak RSS, from one more run under /usr/bin/time: wait4 would report this Python's own, which the
    child inherits through exec."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *argv],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=stdin, cwd=cwd, env=env)
        return int(report.read().strip().splitlines()[-1])


def median(values):
    return statistics.median(values)


def alternate(commands, rounds, **kwargs):
    """commands: name -> argv. Runs each once per round, in an order shuffled anew each round (seeded by the round, so a
    run is repeatable): whatever runs right after a long tool that reads the whole corpus is slower, so no command should
    always follow the same one. Rounds that only started one further along the list kept every command after the same
    one (the listing always ran right after cat, the summary right after the listing); returns name -> [Run]."""
    runs = {name: [] for name in commands}
    names = list(commands)
    for r in range(rounds):
        order = list(names)
        random.Random(r).shuffle(order)
        for name in order:
            run, _ = timed(commands[name], **kwargs)
            runs[name].append(run)
    for name, argv in commands.items():
        peak = peak_rss_kb(argv, **kwargs)
        for run in runs[name]:
            run.rss_kb = peak
    return runs


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
    print()


def summary_relocations(stderr):
    m = re.search(r"(\d+) object\(s\), (\d+) relocation\(s\)", stderr)
    if not m:
        sys.exit(f"no picguard summary in:\n{stderr}")
    return int(m.group(1)), int(m.group(2))


def readelf_relocations(paths):
    out = subprocess.run(["readelf", "-rW", *paths], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return sum(int(n) for n in re.findall(r"contains (\d+) entr", out))


def files_vs_tools(title, paths, picguard, rounds, count_relocations=True):
    """picguard check (listing and --summary-only) side by side with objdump -r, readelf -rW, llvm-readelf-19 -r and cat
    on the same files, alternating; prints the table and the ratios the targets name. True when the relocation counts agree."""
    size = sum(os.path.getsize(p) for p in paths)
    print(f"## {title}: {len(paths)} files, {size / 1e6:.0f} MB, profile generic, {rounds} rounds\n")
    subprocess.run(["cat", *paths], stdout=subprocess.DEVNULL)  # page cache warm for every tool
    commands = {
        # The default check: up to 100 findings per file listed with their places and instructions, the rest counted.
        "picguard check": [picguard, "check", *paths],
        "picguard check --summary-only": [picguard, "check", "--summary-only", *paths],
        "objdump -r": ["objdump", "-r", *paths],
        "readelf -rW": ["readelf", "-rW", *paths],
        "llvm-readelf-19 -r": ["llvm-readelf-19", "-r", *paths],
        "cat": ["cat", *paths],
    }
    if not shutil.which("llvm-readelf-19"):
        del commands["llvm-readelf-19 -r"]
    runs = alternate(commands, rounds)
    # Listing against counting, side by side in rounds of their own (the two alone, each round's order shuffled as
    # above): in the rounds above the command after the slowest tools runs up to a fifth slower.
    timed(commands["picguard check"])  # not counted: the first run after the slowest tools
    pair = alternate({name: commands[name] for name in ("picguard check", "picguard check --summary-only")}, 2 * rounds + 1)
    objects, counted = summary_relocations(runs["picguard check --summary-only"][0].stderr)
    expected = readelf_relocations(paths) if count_relocations else counted
    wall = {name: median(r.wall for r in rs) for name, rs in runs.items()}
    rows = []
    for name, rs in runs.items():
        rows.append([name, f"{wall[name]:.3f}", f"{median(r.cpu for r in rs):.3f}", f"{max(r.rss_kb for r in rs) / 1024:.0f}",
                     f"{wall['objdump -r'] / wall[name]:.1f}x", f"{wall[name] / wall['cat']:.2f}x"])
    table(["command", "median wall s", "median CPU s", "peak MB", "objdump -r / this", "this / cat"], rows)
    listing, summary = (median(r.wall for r in pair[name]) for name in ("picguard check", "picguard check --summary-only"))
    print(f"objects: {objects}; relocations: picguard {counted}, readelf -rW {expected}: {'equal' if counted == expected else 'MISMATCH'}")
    listed = re.search(r"(\d+) error\(s\), (\d+) warning\(s\)(?:, \d+ suppressed)?(?:, (\d+) omitted)?", runs["picguard check"][0].stderr)
    if listed:
        print(f"findings: {listed.group(1)} errors, {listed.group(2)} warnings, {listed.group(3) or 0} of them counted but not listed")
    print(f"picguard check vs objdump -r: {wall['objdump -r'] / wall['picguard check']:.1f}x faster; "
          f"--summary-only / cat: {wall['picguard check --summary-only'] / wall['cat']:.2f}x; listing / --summary-only: "
          f"{wall['picguard check'] / wall['picguard check --summary-only']:.2f}x in the rounds above, {listing / summary:.2f}x side by side "
          f"({2 * rounds + 1} rounds of the two alone: {listing:.3f} s and {summary:.3f} s)\n")
    return counted == expected


def corpus(picguard, rounds):
    paths = sorted(glob.glob(CORPUS))
    if not paths:
        sys.exit(f"no archives at {CORPUS}: install llvm-19-dev")
    return files_vs_tools("Corpus: the static archives of llvm-19-dev", paths, picguard, rounds)


def kernel(picguard, rounds, modules):
    paths = sorted(glob.glob(os.path.join(modules, "**", "*.ko"), recursive=True))
    if not paths:
        sys.exit(f"no .ko under {modules}")
    return files_vs_tools(f"Kernel modules: every .ko of {os.path.basename(os.path.normpath(modules))}", paths, picguard, rounds)


def generate(dir, n):
    source = os.path.join(dir, f"r{n}.s")
    obj = os.path.join(dir, f"r{n}.o")
    subprocess.run([sys.executable, os.path.join(REPO, "build", "gen-relocs.py"), str(n), source], check=True)
    subprocess.run(["as", source, "-o", obj], check=True)
    os.remove(source)
    return obj


def scaling(picguard, rounds, small):
    print("## Scaling: synthetic objects (build/gen-relocs.py), one core (taskset -c 0)\n")
    print("Each run checks about 1M relocations: the 10k object named 100 times, the 100k object 10 times,")
    print("the 1M object once; startup (the same command on a tiny object) is subtracted.\n")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    with tempfile.TemporaryDirectory(prefix="picguard-bench-") as dir:
        sizes = [10_000, 100_000, 1_000_000]
        objects = {n: generate(dir, n) for n in sizes}
        commands = {"startup": [*pin, picguard, "check", "--summary-only", small]}
        for n in sizes:
            commands[n] = [*pin, picguard, "check", "--summary-only", *([objects[n]] * (1_000_000 // n))]
        runs = alternate(commands, rounds)
        startup = median(r.wall for r in runs["startup"])
        startup_cpu = median(r.cpu for r in runs["startup"])
        rows, per = [], []
        for n in sizes:
            _, relocations = summary_relocations(runs[n][0].stderr)
            wall = median(r.wall for r in runs[n])
            cpu = median(r.cpu for r in runs[n])
            ns = (wall - startup) / relocations * 1e9
            per.append(ns)
            rows.append([f"{n:,}", 1_000_000 // n, f"{relocations:,}", f"{wall:.3f}", f"{ns:.1f}",
                         f"{max(0.0, cpu - startup_cpu) / relocations * 1e9:.1f}", f"{max(r.rss_kb for r in runs[n]) / 1024:.0f}"])
        table(["relocations per object", "objects", "relocations checked", "median wall s", "ns/relocation (wall)", "ns/relocation (CPU)", "peak MB"], rows)
        spread = max(per) / min(per) if min(per) > 0 else float("inf")
        print(f"startup subtracted: {startup * 1000:.1f} ms; largest/smallest ns per relocation: {spread:.2f}x (target <= 2x)\n")


# The x86-64 kernel's code-model and instrumentation flags: a small object built with them has findings to list (calls to
# __fentry__ and the return thunk, absolute addresses), the one-object check a user runs before applying the flag policy.
KERNEL_FLAGS = ["-fno-pic", "-mcmodel=kernel", "-pg", "-mfentry", "-mfunction-return=thunk-extern", "-mindirect-branch=thunk-extern", "-fstack-protector-strong"]


def small_object(picguard, jit, rounds, small, findings):
    # A run of the installed tool or readelf takes a few milliseconds and the machine's speed moves by a fifth from one
    # minute to the next: 100 rounds of the two cost about a second and steady their medians (20 rounds of one build read
    # 1.82x and 2.08x in two runs). The framework-dependent build (over 100 ms a run) keeps 20.
    native_rounds, jit_rounds = max(rounds, 100), max(rounds, 20)
    print(f"## One small object ({os.path.basename(small)}, whole process, {native_rounds} rounds; framework-dependent {jit_rounds})\n")
    print(f"{os.path.basename(small)} is clean; {os.path.basename(findings)} is the same source built with the kernel's flags "
          f"({' '.join(KERNEL_FLAGS)}), whose findings are listed: what a user who has not applied the flag policy checks.\n")
    # The installed tool and readelf alternate with each other only. Whatever runs right after the framework-dependent
    # build (about 130 ms on several threads) is slower: picguard 7% and readelf 5% in a side-by-side check, so with all
    # three in turn the command after it paid that every round. The framework-dependent build has rounds of its own.
    listed = f"picguard check {os.path.basename(findings)} (findings listed)"
    listed_readelf = f"readelf -rW {os.path.basename(findings)}"
    runs = alternate({"picguard check (installed tool)": [picguard, "check", small], "readelf -rW": ["readelf", "-rW", small],
                      listed: [picguard, "check", findings], listed_readelf: ["readelf", "-rW", findings]}, native_rounds)
    if jit:
        runs.update(alternate({"picguard check (framework-dependent, dotnet picguard.dll)": ["dotnet", jit, "check", small]}, jit_rounds))
    # Each against readelf on the same object.
    base = {name: median(r.wall for r in runs[listed_readelf if name in (listed, listed_readelf) else "readelf -rW"]) for name in runs}
    rows = [[name, f"{median(r.wall for r in rs) * 1000:.1f}", f"{max(r.rss_kb for r in rs) / 1024:.0f}",
             f"{median(r.wall for r in rs) / base[name]:.2f}x"] for name, rs in runs.items()]
    table(["command", "median wall ms", "peak MB", "vs readelf -rW (same object)"], rows)


def msbuild(rounds):
    print(f"## MSBuild: no-op `dotnet build` of samples/purgatory vs the same project without PicGuard ({rounds} alternating runs each)\n")
    feed = os.path.join(REPO, "artifacts", "packages")
    if not glob.glob(os.path.join(feed, "PicGuard.Sdk.*.nupkg")):
        sys.exit(f"no PicGuard.Sdk package in {feed}: run build/pack.sh")
    with tempfile.TemporaryDirectory(prefix="picguard-msbuild-") as dir:
        env = dict(os.environ)
        env["NUGET_PACKAGES"] = os.path.join(dir, "nuget-packages")
        env["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1"
        env["DOTNET_NOLOGO"] = "1"
        env.pop("MSBUILDDISABLENODEREUSE", None)  # MSBuild's default node reuse
        sample = os.path.join(dir, "purgatory")
        shutil.copytree(os.path.join(REPO, "samples", "purgatory"), sample, ignore=shutil.ignore_patterns("bin", "obj"))
        for name in ("Directory.Build.props", "Directory.Build.targets"):
            shutil.copy(os.path.join(REPO, "samples", name), dir)
        with open(os.path.join(sample, "NuGet.config"), "w") as f:
            f.write(f'<?xml version="1.0" encoding="utf-8"?>\n<configuration><packageSources>'
                    f'<add key="picguard-local" value="{feed}" /></packageSources></configuration>\n')
        plain = os.path.join(dir, "plain")
        os.makedirs(plain)
        for f in glob.glob(os.path.join(sample, "*")):
            if f.endswith((".c", ".S", ".h")):
                shutil.copy(f, plain)
        with open(os.path.join(plain, "plain.csproj"), "w") as f:
            f.write('<Project Sdk="Microsoft.Build.NoTargets/3.7.0">\n'
                    '  <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>\n'
                    '  <ItemGroup><None Include="entry.S;purgatory.c;digest.c" /></ItemGroup>\n'
                    '</Project>\n')
        build = ["dotnet", "build", "-nologo", "-v:q"]
        for project in (sample, plain):
            # First build: restore, compile, link, check; second: the flag policy reads the new dependency files.
            for _ in range(2):
                first, code = timed(build, cwd=project, env=env)
                if code != 0:
                    sys.exit(f"first build of {project} failed:\n{first.stderr}")
        runs = {"samples/purgatory (PicGuard.Sdk)": [], "same sources, no PicGuard": []}
        for _ in range(rounds):
            for name, project in (("samples/purgatory (PicGuard.Sdk)", sample), ("same sources, no PicGuard", plain)):
                run, code = timed(build, cwd=project, env=env)
                if code != 0:
                    sys.exit(f"no-op build of {project} failed:\n{run.stderr}")
                runs[name].append(run)
        pic = median(r.wall for r in runs["samples/purgatory (PicGuard.Sdk)"])
        base = median(r.wall for r in runs["same sources, no PicGuard"])
        table(["project", "median wall s", "median CPU s", "runs (wall s)"],
              [[name, f"{median(r.wall for r in rs):.3f}", f"{median(r.cpu for r in rs):.3f}", " ".join(f"{r.wall:.2f}" for r in rs)] for name, rs in runs.items()])
        cpu = median(r.cpu for r in runs["samples/purgatory (PicGuard.Sdk)"]) / median(r.cpu for r in runs["same sources, no PicGuard"])
        print(f"no-op ratio: {pic / base:.2f}x wall, {cpu:.2f}x CPU (target <= 1.10x)\n")


def piccheck(picguard, rounds, modules):
    """The kernel modules as PicCheck items of one `dotnet build` (default properties) beside the installed CLI's default
    check of the same files; also the PicValidate task's own time (MSBuild's performance summary)."""
    paths = sorted(glob.glob(os.path.join(modules, "**", "*.ko"), recursive=True))
    print(f"## MSBuild: {len(paths)} kernel modules as PicCheck items of one `dotnet build`, beside `picguard check` ({rounds} alternating runs)\n")
    feed = os.path.join(REPO, "artifacts", "packages")
    version = re.search(r"PicGuard\.Sdk\.(.+)\.nupkg$", sorted(glob.glob(os.path.join(feed, "PicGuard.Sdk.*.nupkg")))[-1]).group(1)
    with tempfile.TemporaryDirectory(prefix="picguard-piccheck-") as dir:
        env = dict(os.environ, NUGET_PACKAGES=os.path.join(dir, "nuget-packages"), DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1")
        project = os.path.join(dir, "modules")
        os.makedirs(project)
        with open(os.path.join(project, "NuGet.config"), "w") as f:
            f.write(f'<?xml version="1.0" encoding="utf-8"?>\n<configuration><packageSources>'
                    f'<add key="picguard-local" value="{feed}" /></packageSources></configuration>\n')
        with open(os.path.join(project, "modules.csproj"), "w") as f:
            f.write(f'<Project Sdk="PicGuard.Sdk/{version}">\n'
                    '  <PropertyGroup><EnableDefaultPicSourceItems>false</EnableDefaultPicSourceItems><PicLinkMode>none</PicLinkMode></PropertyGroup>\n'
                    f'  <ItemGroup><PicCheck Include="{os.path.join(modules, "**", "*.ko")}" /></ItemGroup>\n'
                    '</Project>\n')
        # Restore once; every timed build then checks again (a failed check writes no stamp) on a fresh MSBuild node.
        build = ["dotnet", "build", "-nologo", "-v:q", "-nodeReuse:false", "-clp:PerformanceSummary"]
        timed(["dotnet", "restore", "-nologo", "-v:q"], cwd=project, env=env)
        runs, task_ms = {"dotnet build (PicCheck items)": [], "picguard check": []}, []
        for _ in range(rounds):
            run, _ = timed([*build, "--no-restore"], cwd=project, env=env)
            runs["dotnet build (PicCheck items)"].append(run)
            runs["picguard check"].append(timed([picguard, "check", *paths])[0])
        for _ in range(rounds):
            out = subprocess.run([*build, "--no-restore"], cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
            m = re.search(r"(\d+) ms\s+PicValidate\s", out)
            if m:
                task_ms.append(int(m.group(1)))
        cli = median(r.wall for r in runs["picguard check"])
        rows = [[name, f"{median(r.wall for r in rs):.3f}", f"{median(r.cpu for r in rs):.3f}", f"{median(r.wall for r in rs) / cli:.2f}x"] for name, rs in runs.items()]
        table(["command", "median wall s", "median CPU s", "vs picguard check"], rows)
        if task_ms:
            print(f"PicValidate task alone (MSBuild performance summary, median of {len(task_ms)}): {median(task_ms) / 1000:.3f} s, "
                  f"{median(task_ms) / 1000 / cli:.2f}x the CLI (target <= 1.5x)\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("picguard")
    parser.add_argument("--jit", help="picguard.dll of the framework-dependent build, for the small-object comparison")
    parser.add_argument("--kernel-modules", help="a directory holding a kernel package's .ko files (build/bench.sh unpacks one)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="corpus,kernel,scaling,small,msbuild,piccheck")
    args = parser.parse_args()
    parts = args.only.split(",")
    with tempfile.TemporaryDirectory(prefix="picguard-small-") as dir:
        small = os.path.join(dir, "digest.o")
        subprocess.run(["gcc", "-O2", "-fpic", "-fvisibility=hidden", "-c", os.path.join(REPO, "samples", "purgatory", "digest.c"), "-o", small], check=True)
        findings = os.path.join(dir, "digest-kernel-flags.o")
        subprocess.run(["gcc", "-O2", *KERNEL_FLAGS, "-c", os.path.join(REPO, "samples", "purgatory", "digest.c"), "-o", findings], check=True)
        print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at start\n")
        ok = True
        if "corpus" in parts:
            ok = corpus(args.picguard, args.rounds)
        if "kernel" in parts and args.kernel_modules:
            ok = kernel(args.picguard, args.rounds, args.kernel_modules) and ok
        if "scaling" in parts:
            scaling(args.picguard, args.rounds, small)
        if "small" in parts:
            small_object(args.picguard, args.jit, args.rounds, small, findings)
        if "msbuild" in parts:
            msbuild(args.rounds)
        if "piccheck" in parts and args.kernel_modules:
            piccheck(args.picguard, args.rounds, args.kernel_modules)
        print(f"load average {os.getloadavg()[0]:.2f} at end")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

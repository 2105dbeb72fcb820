using System.Diagnostics;
using System.Text.RegularExpressions;
using PicGuard.Elf;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>
/// Nothing lost: what a failed check or an interrupted link leaves behind, through the packed SDK
/// and the real `dotnet build`. A failure must never leave a file a later incremental build takes as done.
/// </summary>
[TestClass]
public sealed class FailedBuildStateTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string Project(string linker, string source) => $"""
        <Project Sdk="Microsoft.Build.NoTargets/3.7.0">
          <PropertyGroup>
            <TargetFramework>net8.0</TargetFramework>
            <PicCompiler>gcc</PicCompiler>
            <PicLinker>{linker}</PicLinker>
            <PicEntryPoint>purgatory_start</PicEntryPoint>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="PicGuard.Sdk" Version="{SdkPackage.Version}" />
            <PicSource Include="{source}" />
          </ItemGroup>
        </Project>
        """;

    private static string Blob(TempDir dir) => Path.Combine(dir.Path, "bin", "Debug", "net8.0", "blob.ro");
    private static string ValidateStamp(TempDir dir) => Path.Combine(dir.Path, "obj", "Debug", "net8.0", "picguard", "validate.stamp");
    /// <summary>Matches in the build log before MSBuild's closing summary (which repeats every error).</summary>
    private static int Count(string log, string pattern)
    {
        int summary = log.IndexOf("\nBuild FAILED.", StringComparison.Ordinal);
        return Regex.Matches(summary < 0 ? log : log[..summary], pattern).Count;
    }

    /// <summary>
    /// movabs with a symbol is a 64-bit absolute address in .text (R_X86_64_64) whatever the flags:
    /// the policy cannot compile it away, so the check fails with PG0001.
    /// </summary>
    private const string AbsoluteReference = """
        	.text
        	.globl	purgatory_start
        purgatory_start:
        	movabs	$table, %rax
        	ret
        	.data
        table:
        	.quad	0
        	.section .note.GNU-stack, "", @progbits

        """;

    [TestMethod]
    public void FailedCheck_KeepsTheBlobUnchanged_WritesNoStamp_AndTheNextBuildReportsItAgain()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["absolute.S"], AbsoluteReference);
        SdkPackage.WriteProject(dir.Path, Project(Ld, "absolute.S"));

        var first = SdkPackage.Build(dir.Path, "-v:n");

        Assert.AreNotEqual(0, first.ExitCode, first.All);
        Assert.AreEqual(1, Count(first.All, @"error PG0001: absolute relocation R_X86_64_64 "), first.All);
        Assert.AreEqual(1, Count(first.All, @"PicGuard: linked "), first.All);
        Assert.IsTrue(File.Exists(Blob(dir)), "the blob stays for inspection");
        Assert.IsFalse(File.Exists(ValidateStamp(dir)), "a failed check writes no stamp");
        byte[] blob = File.ReadAllBytes(Blob(dir));
        var written = File.GetLastWriteTimeUtc(Blob(dir));

        var second = SdkPackage.Build(dir.Path, "-v:n");

        Assert.AreNotEqual(0, second.ExitCode, "the error is reported again, not skipped as up to date:\n" + second.All);
        Assert.AreEqual(1, Count(second.All, @"error PG0001: absolute relocation R_X86_64_64 "), second.All);
        Assert.AreEqual(0, Count(second.All, @"PicGuard: compiled "), "nothing changed, nothing to compile:\n" + second.All);
        Assert.AreEqual(0, Count(second.All, @"PicGuard: linked "), "nothing changed, nothing to link:\n" + second.All);
        CollectionAssert.AreEqual(blob, File.ReadAllBytes(Blob(dir)), "the check leaves the blob as linked");
        Assert.AreEqual(written, File.GetLastWriteTimeUtc(Blob(dir)));
        Assert.IsFalse(File.Exists(ValidateStamp(dir)));
    }

    /// <summary>
    /// A linker that writes part of its -o file and hangs (as a real link does when the build is
    /// killed): with the file <c>interrupt</c> beside it; without, it runs ld.
    /// </summary>
    private const string InterruptibleLinker = """
        #!/bin/sh
        here=$(dirname "$0")
        if [ -f "$here/interrupt" ]; then
          out=""; prev=""; last=""
          for a in "$@"; do
            [ "$prev" = "-o" ] && out="$a"
            prev="$a"; last="$a"
          done
          if [ -n "$out" ]; then
            head -c 1024 "$last" > "$out"
            : > "$here/link-started"
            exec sleep 300
          fi
        fi
        exec ld "$@"

        """;

    internal const string Entry = """
        	.text
        	.globl	purgatory_start
        purgatory_start:
        	call	work
        	ret
        	.section .note.GNU-stack, "", @progbits

        """;

    /// <summary>
    /// Writes <see cref="InterruptibleLinker"/> to <paramref name="dir"/>/tools (returned in <paramref name="tools"/>),
    /// and entry.S and work.c beside the project; returns the linker's path.
    /// </summary>
    internal static string WriteInterruptibleLinker(TempDir dir, out string tools)
    {
        tools = dir["tools"];
        Directory.CreateDirectory(tools);
        string linker = Path.Combine(tools, "interruptible-ld");
        File.WriteAllText(linker, InterruptibleLinker);
        RunChecked("chmod", "+x", linker);
        File.WriteAllText(dir["entry.S"], Entry);
        File.WriteAllText(dir["work.c"], "int work(void) { return 1; }\n");
        return linker;
    }

    [TestMethod]
    public void KilledLink_LeavesNoHalfWrittenBlob_AndTheNextBuildRelinks()
    {
        using var dir = new TempDir();
        string linker = WriteInterruptibleLinker(dir, out string tools);
        SdkPackage.WriteProject(dir.Path, Project(linker, "entry.S;work.c"));
        var first = SdkPackage.Build(dir.Path, "-v:n");
        Assert.AreEqual(0, first.ExitCode, first.All);
        byte[] before = File.ReadAllBytes(Blob(dir));

        // Change a source, then kill the build while the linker is writing the new blob.
        File.WriteAllText(dir["work.c"], "int work(void) { return 2; }\nint added_after_interrupt(void) { return 3; }\n");
        File.WriteAllText(Path.Combine(tools, "interrupt"), "");
        string marker = Guid.NewGuid().ToString("N");
        var env = SdkPackage.Environment();
        env["PICGUARD_TEST_BUILD"] = marker;
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.Path, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "build", "-nodeReuse:false", "-v:n" }) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env)
            if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        using (var build = Process.Start(psi)!)
        {
            build.OutputDataReceived += (_, _) => { };
            build.ErrorDataReceived += (_, _) => { };
            build.BeginOutputReadLine();
            build.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddMinutes(5);
            while (!File.Exists(Path.Combine(tools, "link-started")) && !build.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(100);
            Assert.IsTrue(File.Exists(Path.Combine(tools, "link-started")), "the build reached the link");
            build.Kill(entireProcessTree: true);
            build.WaitForExit();
        }
        var gone = DateTime.UtcNow.AddSeconds(30);
        while (ProcessTable.WithEnvironment("PICGUARD_TEST_BUILD", marker).Length > 0 && DateTime.UtcNow < gone) Thread.Sleep(100);
        Assert.IsEmpty(ProcessTable.WithEnvironment("PICGUARD_TEST_BUILD", marker), "killing the build ends the linker too");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(Blob(dir)), "the interrupted link leaves the previous blob as it was");

        File.Delete(Path.Combine(tools, "interrupt"));
        var again = SdkPackage.Build(dir.Path, "-v:n");

        Assert.AreEqual(0, again.ExitCode, again.All);
        Assert.AreEqual(1, Count(again.All, @"PicGuard: linked "), "the build after the interruption relinks:\n" + again.All);
        Assert.AreEqual(1, Count(again.All, @"PicGuard: checked 1 file\(s\), \d+ relocation\(s\): 0 error\(s\)"), again.All);
        var elf = new ElfFile(File.ReadAllBytes(Blob(dir)));
        Assert.AreEqual(ElfFileType.Relocatable, elf.FileType);
        Assert.Contains(".text", elf.Sections.Select(s => elf.SectionName(s)).ToList());
        StringAssert.Contains(ReadElf("-hW", Blob(dir)), "REL (Relocatable file)");
        StringAssert.Contains(ReadElf("-sW", Blob(dir)), "added_after_interrupt");
        Assert.IsEmpty(Directory.GetFiles(Path.GetDirectoryName(Blob(dir))!, "*.tmp"), "no temp file is left beside the blob");
    }
}

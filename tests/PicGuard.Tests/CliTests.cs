using PicGuard.Cli;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>picguard check: same codes and canonical lines as the task; exit 0 clean, 1 findings, 2 usage.</summary>
[TestClass]
public sealed class CliTests
{
    private static (int Exit, string Out, string Err) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = Program.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [TestMethod]
    public void Findings_PrintCanonicalLines_AndExit1()
    {
        using var dir = new TempDir();
        string kernel = Compile(dir.Path, "k.c", Sources.GlobalTable, Gcc, "-O2", "-mcmodel=kernel", "-fno-pic");
        string got = Compile(dir.Path, "g.c", Sources.ExternVariable, Clang, "-O2", "-fpic", "-fvisibility=hidden");
        string large = Compile(dir.Path, "l.c", Sources.StaticOnly, Clang, "-O2", "-mcmodel=large");
        File.WriteAllText(dir["garbage.o"], "garbage");

        var (exit, output, err) = Cli("check", kernel, got, large, dir["garbage.o"]);

        Assert.AreEqual(Program.ExitFindings, exit);
        StringAssert.Contains(output, $"{kernel}: error PG0001: ");
        StringAssert.Contains(output, $"{got}: error PG0002: ");
        StringAssert.Contains(output, $"{large}: error PG0003: ");
        StringAssert.Contains(output, $"{dir["garbage.o"]}: error PG9001: ");
        StringAssert.Contains(output, ">>> referenced by table_address+0x");
        StringAssert.Contains(err, "4 file(s)");
    }

    [TestMethod]
    public void CleanObject_Exits0()
    {
        using var dir = new TempDir();
        string clean = Compile(dir.Path, "c.c", Sources.StaticOnly, Gcc, "-O2", "-mcmodel=small", "-fpic", "-fvisibility=hidden");

        var (exit, output, err) = Cli("check", clean, "--profile", "generic");

        Assert.AreEqual(Program.ExitClean, exit, output + err);
        Assert.AreEqual("", output);
        StringAssert.Contains(err, "0 error(s)");
    }

    [TestMethod]
    public void NoFiles_IsUsageError()
    {
        var (exit, _, err) = Cli("check");
        Assert.AreEqual(Program.ExitUsage, exit);
        StringAssert.Contains(err, "usage: picguard check");
    }

    [TestMethod]
    public void UnknownProfile_IsUsageError_NamingTheAcceptedValues()
    {
        using var dir = new TempDir();
        string clean = Compile(dir.Path, "c.c", Sources.StaticOnly, Gcc, "-fpic");
        var (exit, _, err) = Cli("check", clean, "--profile", "kexec-purgatry");
        Assert.AreEqual(Program.ExitUsage, exit);
        StringAssert.Contains(err, "PG9004");
        StringAssert.Contains(err, "use one of: generic");
    }
}

using System.Text.RegularExpressions;

namespace PicGuard.Tests;

/// <summary>
/// Every bad property or item value is one PG9004 that points at the project, names the property and
/// the values it accepts, and stops the build before anything is compiled.
/// </summary>
[TestClass]
public sealed class BadConfigurationTests
{
    [TestMethod]
    [DataRow("<PicProfile>kexec</PicProfile>", "", "PicProfile is 'kexec', which is not accepted; use one of: generic, kexec-purgatory, efi-stub, startup")]
    [DataRow("<PicLoadAddress>0x10000g</PicLoadAddress>", "", "PicLoadAddress is '0x10000g', which is not accepted; use an address such as 0x100000, a range such as 0x100000-0x7fffffff, or 'any'")]
    [DataRow("<PicLinkMode>PIE </PicLinkMode>", "", "PicLinkMode is 'PIE ', which is not accepted; use relocatable (default), pie or none")]
    [DataRow("<PicLinkMode>pie</PicLinkMode>", "", "PicEntryPoint is empty, but PicLinkMode=pie needs the name of the blob's entry symbol")]
    [DataRow("<PicMaxDiagnostics>lots</PicMaxDiagnostics>", "", "PicMaxDiagnostics is 'lots', which is not accepted; use a whole number of diagnostics per file, 0 for all")]
    [DataRow("<PicMaxLoggedDiagnostics>-1</PicMaxLoggedDiagnostics>", "", "PicMaxLoggedDiagnostics is '-1', which is not accepted; use a whole number of diagnostics per build, 0 for all")]
    [DataRow("<PicCodeModel>smal</PicCodeModel>", "", "PicCodeModel is 'smal', which is not accepted; use small (default), medium, large, kernel")]
    [DataRow("", """<PicCheck Include="prebuilt" />""", "PicCheck item 'prebuilt' is 'prebuilt', which is not accepted; use an ELF object, executable or ar archive file; this is a directory")]
    [DataRow("", """<PicCheck Include="main.c" Profile="uefi" />""", "Profile metadata of PicCheck item 'main.c' is 'uefi', which is not accepted; use one of: generic, kexec-purgatory, efi-stub, startup")]
    [DataRow("", """<PicSuppress Include="0004" />""", "PicSuppress item is '0004', which is not accepted; use a PicGuard code such as PG0004")]
    public void BadValue_IsOnePG9004_AtTheProject_BeforeAnyCompile(string properties, string items, string message)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir["main.c"], "int entry(void) { return 0; }\n");
        Directory.CreateDirectory(dir["prebuilt"]);
        SdkPackage.WriteProject(dir.Path, SdkPackage.NoTargetsProject("<PicCompiler>gcc</PicCompiler>" + properties, """<PicSource Include="main.c" />""" + items));

        var r = SdkPackage.Build(dir.Path);

        Assert.AreEqual(1, r.ExitCode, r.All);
        string log = r.All[..Math.Max(0, r.All.IndexOf("Build FAILED.", StringComparison.Ordinal))];
        var errors = Regex.Matches(log, @"^(.*): error (\w+): (.*)$", RegexOptions.Multiline);
        Assert.HasCount(1, errors, r.All);
        StringAssert.EndsWith(errors[0].Groups[1].Value.Trim(), "blob.csproj", "the error points at the project");
        Assert.AreEqual("PG9004", errors[0].Groups[2].Value);
        StringAssert.Contains(errors[0].Groups[3].Value, message);
        Assert.IsFalse(Directory.Exists(Path.Combine(dir.Path, "obj", "Debug", "net8.0", "picguard", "obj")), "nothing was compiled");
        Assert.DoesNotContain("MSB4018", r.All);
    }
}

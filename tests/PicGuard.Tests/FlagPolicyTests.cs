using PicGuard.Build;
using static PicGuard.Tests.Toolchain;

namespace PicGuard.Tests;

/// <summary>The compiler flag policy: the rule table, the options that keep flags, the shell-like splitter, and real compiles with the result.</summary>
[TestClass]
public sealed class FlagPolicyTests
{
    private static readonly FlagPolicyOptions Defaults = new();

    private static FlagPolicyResult Apply(string userFlags, FlagPolicyOptions? options = null, string additional = "", string remove = "", CompilerFamily family = CompilerFamily.Clang) =>
        FlagPolicy.Apply(FlagPolicy.Split(userFlags), FlagPolicy.Split(additional), FlagPolicy.Split(remove), family, options ?? Defaults);

    private static readonly string[] DefaultPolicyFlags =
        ["-mcmodel=small", "-fpic", "-fvisibility=hidden", "-ffreestanding", "-fno-stack-protector", "-fno-jump-tables"];

    // ---- code model -------------------------------------------------------------------------

    [TestMethod]
    [DataRow("-mcmodel=large")]
    [DataRow("-mcmodel=kernel")]
    [DataRow("-mcmodel=medium")]
    public void UserCodeModel_DifferentFromOption_IsOverriddenAndReplaced(string flag)
    {
        var r = Apply($"-O2 {flag}");

        Assert.DoesNotContain(flag, r.Flags);
        Assert.AreEqual(1, r.Flags.Count(f => f.StartsWith("-mcmodel=", StringComparison.Ordinal)));
        Assert.Contains("-mcmodel=small", r.Flags);
        var change = r.Changes.Single();
        Assert.AreEqual(flag, change.Flag);
        Assert.AreEqual(FlagChangeKind.Overridden, change.Kind);
        StringAssert.Contains(change.Reason, "PicCodeModel is small");
        StringAssert.Contains(change.Reason, ".ltext");
    }

    [TestMethod]
    public void UserCodeModel_SameAsOption_IsDroppedSilently()
    {
        var r = Apply("-mcmodel=small -O2");

        Assert.IsEmpty(r.Changes);
        CollectionAssert.AreEqual((string[])["-O2", .. DefaultPolicyFlags], r.Flags.ToArray());
    }

    [TestMethod]
    public void CodeModelOption_IsTheOneAdded_AndUserSmallIsOverridden()
    {
        var r = Apply("-mcmodel=small", Defaults with { CodeModel = "medium" });

        Assert.Contains("-mcmodel=medium", r.Flags);
        Assert.DoesNotContain("-mcmodel=small", r.Flags);
        Assert.AreEqual("-mcmodel=medium", r.Added[0]);
        var change = r.Changes.Single();
        Assert.AreEqual(FlagChangeKind.Overridden, change.Kind);
        StringAssert.Contains(change.Reason, "PicCodeModel is medium");
    }

    // ---- the code model as the target spells it (riscv: small is medany) ----------------------

    [TestMethod]
    [DataRow("--target=riscv64-linux-gnu", null)]
    [DataRow("-target riscv32-unknown-elf", null)]
    [DataRow("-O2", "riscv64-linux-gnu")]
    [DataRow("--target=riscv64-linux-gnu", "x86_64-pc-linux-gnu")]
    public void RiscvTarget_SmallIsMedany(string userFlags, string? compilerTarget)
    {
        var r = Apply(userFlags, Defaults with { Target = compilerTarget });

        Assert.AreEqual("-mcmodel=medany", r.Added[0]);
        Assert.IsFalse(r.Flags.Any(f => f is "-mcmodel=small" or "-mcmodel=medlow"), string.Join(' ', r.Flags));
        Assert.IsEmpty(r.Changes);
    }

    [TestMethod]
    [DataRow("-O2", "x86_64-pc-linux-gnu")]
    [DataRow("--target=aarch64-linux-gnu", "riscv64-linux-gnu")]
    [DataRow("-O2", null)]
    public void OtherTargets_KeepSmall(string userFlags, string? compilerTarget)
    {
        var r = Apply(userFlags, Defaults with { Target = compilerTarget });

        Assert.AreEqual("-mcmodel=small", r.Added[0], "the flags' --target wins over the compiler's own");
    }

    [TestMethod]
    public void RiscvTarget_UserMedlowOrSmall_IsOverridden_NamingWhy_AndMedanyIsKeptSilently()
    {
        var riscv = Defaults with { Target = "riscv64-linux-gnu" };

        var r = Apply("-O2 -mcmodel=medlow", riscv);
        var change = r.Changes.Single();
        Assert.AreEqual(("-mcmodel=medlow", FlagChangeKind.Overridden), (change.Flag, change.Kind));
        StringAssert.Contains(change.Reason, "PicCodeModel is small (on riscv small is medlow, whose lui + addi pairs are absolute addresses; medany is the PC-relative model)");
        StringAssert.Contains(change.Reason, "so -mcmodel=medlow becomes -mcmodel=medany");

        Assert.AreEqual("-mcmodel=small", Apply("-mcmodel=small", riscv).Changes.Single().Flag);
        Assert.IsEmpty(Apply("-mcmodel=medany", riscv).Changes);
        Assert.AreEqual("-mcmodel=large", Apply("", riscv with { CodeModel = "large" }).Added[0], "only small has another spelling");
    }

    [TestMethod]
    public void RiscvTarget_Clang19CompilesTheMediumAnyModel()
    {
        using var dir = new TempDir();
        string source = dir["counter.c"];
        File.WriteAllText(source, "static int counter; int bump(void) { return ++counter; }\n");
        var policy = Apply("--target=riscv64-linux-gnu -nostdinc -O2");
        var before = Apply("--target=riscv64-linux-gnu -nostdinc -O2", Defaults with { Target = "x86_64-pc-linux-gnu" });

        // The "Code Model" module flag clang records: 1 is small (medlow), 3 is medium (medany).
        string ir = RunChecked(Clang, [.. policy.Flags, "-S", "-emit-llvm", source, "-o", "-"]).StdOut;
        StringAssert.Contains(ir, "!\"Code Model\", i32 3}");
        string medlow = RunChecked(Clang, ["--target=riscv64-linux-gnu", "-nostdinc", "-O2", "-mcmodel=small", "-fpic", "-S", "-emit-llvm", source, "-o", "-"]).StdOut;
        StringAssert.Contains(medlow, "!\"Code Model\", i32 1}", "small is medlow on riscv");
        Assert.AreEqual("-mcmodel=medany", before.Added[0], "the flags' --target decides, not the compiler's default");

        string obj = dir["counter.o"];
        RunChecked(Clang, [.. policy.Flags, "-c", source, "-o", obj]);
        Assert.IsEmpty(new Checker(CheckOptions.Default).CheckFile(obj).Diagnostics);
    }

    // ---- PIC --------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("-fno-pic")]
    [DataRow("-fno-PIC")]
    [DataRow("-fpie")]
    [DataRow("-fPIE")]
    [DataRow("-fno-pie")]
    [DataRow("-fno-PIE")]
    public void NoPicOrPie_IsOverriddenByFpic(string flag)
    {
        var r = Apply($"{flag} -O2");

        Assert.DoesNotContain(flag, r.Flags);
        Assert.AreEqual(1, r.Flags.Count(f => f == "-fpic"));
        var change = r.Changes.Single();
        Assert.AreEqual(flag, change.Flag);
        Assert.AreEqual(FlagChangeKind.Overridden, change.Kind);
        StringAssert.Contains(change.Reason, "-fpic");
    }

    [TestMethod]
    [DataRow("-fpic")]
    [DataRow("-fPIC")]
    public void FpicDuplicates_AreDroppedWithoutReport(string flag)
    {
        var r = Apply($"{flag} -O2 {flag}");

        Assert.IsEmpty(r.Changes);
        Assert.DoesNotContain("-fPIC", r.Flags);
        Assert.AreEqual(1, r.Flags.Count(f => f == "-fpic"));
        CollectionAssert.AreEqual((string[])["-O2", .. DefaultPolicyFlags], r.Flags.ToArray());
    }

    // ---- visibility -------------------------------------------------------------------------

    [TestMethod]
    public void UserVisibility_Different_IsOverridden_SameIsSilent_OtherVisibilityFlagsKept()
    {
        var r = Apply("-fvisibility=default -fvisibility=hidden -fvisibility-inlines-hidden");

        var change = r.Changes.Single();
        Assert.AreEqual("-fvisibility=default", change.Flag);
        Assert.AreEqual(FlagChangeKind.Overridden, change.Kind);
        StringAssert.Contains(change.Reason, "PicVisibility is hidden");
        Assert.DoesNotContain("-fvisibility=default", r.Flags);
        Assert.AreEqual(1, r.Flags.Count(f => f == "-fvisibility=hidden"));
        Assert.AreEqual("-fvisibility-inlines-hidden", r.Flags[0]);
    }

    [TestMethod]
    public void VisibilityOption_IsTheOneAdded()
    {
        var r = Apply("", Defaults with { Visibility = "protected" });

        Assert.Contains("-fvisibility=protected", r.Added);
        Assert.DoesNotContain("-fvisibility=hidden", r.Flags);
    }

    // ---- hidden header and freestanding -----------------------------------------------------

    [TestMethod]
    public void HiddenHeader_IsForceIncludedAsTwoArguments_Last()
    {
        var r = Apply("-O2", Defaults with { HiddenHeader = "/inc/hidden.h" });

        CollectionAssert.AreEqual((string[])["-O2", .. DefaultPolicyFlags, "-include", "/inc/hidden.h"], r.Flags.ToArray());
        CollectionAssert.AreEqual((string[])[.. DefaultPolicyFlags, "-include", "/inc/hidden.h"], r.Added.ToArray());
    }

    [TestMethod]
    public void NoHiddenHeader_AddsNoInclude()
    {
        Assert.DoesNotContain("-include", Apply("-O2").Flags);
        Assert.DoesNotContain("-include", Apply("-O2", Defaults with { HiddenHeader = "" }).Flags);
    }

    // ---- source root ------------------------------------------------------------------------

    [TestMethod]
    public void SourceRoot_IsMappedToDot_Last()
    {
        var r = Apply("-O2 -g", Defaults with { SourceRoot = "/src/my blob" });

        CollectionAssert.AreEqual((string[])["-O2", "-g", .. DefaultPolicyFlags, "-ffile-prefix-map=/src/my blob=."], r.Flags.ToArray());
        Assert.IsEmpty(r.Changes);
        Assert.DoesNotContain("-ffile-prefix-map=", string.Join(' ', Apply("-g").Flags), "no source root, no map");
    }

    [TestMethod]
    [DataRow("-ffile-prefix-map=/build=/usr/src")]
    [DataRow("-fdebug-prefix-map=/build=.")]
    [DataRow("-fmacro-prefix-map=/build=.")]
    public void SourceRoot_YieldsToTheUsersPrefixMap(string userMap)
    {
        var r = Apply($"-g {userMap}", Defaults with { SourceRoot = "/src/blob" });

        Assert.AreEqual(1, r.Flags.Count(f => f.Contains("-prefix-map=", StringComparison.Ordinal)), string.Join(' ', r.Flags));
        Assert.Contains(userMap, r.Flags);
        Assert.IsEmpty(r.Changes);
    }

    /// <summary>
    /// With -g, DW_AT_comp_dir, DW_AT_name and the line table name the directory: the same sources in
    /// two directories give different objects unless the policy maps the directory away.
    /// </summary>
    [TestMethod]
    [DataRow(Gcc, ".c")]
    [DataRow(Gcc, ".S")]
    [DataRow(Clang, ".c")]
    [DataRow(Clang, ".S")]
    public void SourceRoot_MakesDebugObjectsIndependentOfTheDirectory(string compiler, string extension)
    {
        string source = extension == ".c"
            ? "static const char where[] = __FILE__;\nconst char *origin(void) { return where; }\n"
            : "\t.text\n\t.globl origin\norigin:\n\tret\n\t.section .note.GNU-stack,\"\",@progbits\n";
        using var first = new TempDir();
        using var second = new TempDir();
        byte[] Build(TempDir dir, bool mapped)
        {
            string src = dir["origin" + extension];
            File.WriteAllText(src, source);
            var flags = Apply("-O2 -g", Defaults with { SourceRoot = mapped ? dir.Path : null },
                family: compiler == Gcc ? CompilerFamily.Gcc : CompilerFamily.Clang).Flags;
            string obj = dir["origin.o"];
            var r = Run(compiler, [.. flags, "-c", src, "-o", obj], dir.Path);
            Assert.AreEqual(0, r.ExitCode, r.All);
            return File.ReadAllBytes(obj);
        }

        CollectionAssert.AreNotEqual(Build(first, mapped: false), Build(second, mapped: false), "unmapped, the directory is recorded");
        CollectionAssert.AreEqual(Build(first, mapped: true), Build(second, mapped: true));
        Assert.DoesNotContain(first.Path, System.Text.Encoding.Latin1.GetString(Build(first, mapped: true)));
    }

    [TestMethod]
    public void FreestandingFlags_AlreadyPresent_AreNotDuplicated()
    {
        var r = Apply("-ffreestanding -O2 -fno-jump-tables -fno-stack-protector");

        Assert.IsEmpty(r.Changes);
        foreach (var f in new[] { "-ffreestanding", "-fno-stack-protector", "-fno-jump-tables" })
        {
            Assert.AreEqual(1, r.Flags.Count(x => x == f), f);
            Assert.DoesNotContain(f, r.Added);
        }
        Assert.AreEqual("-ffreestanding", r.Flags[0]);
    }

    [TestMethod]
    public void NotFreestanding_AddsNoFreestandingFlags_AndKeepsFhosted()
    {
        var r = Apply("-fhosted -fjump-tables", Defaults with { Freestanding = false });

        CollectionAssert.AreEqual(new[] { "-fhosted", "-fjump-tables", "-mcmodel=small", "-fpic", "-fvisibility=hidden" }, r.Flags.ToArray());
        Assert.IsEmpty(r.Changes);
    }

    [TestMethod]
    [DataRow("-fhosted")]
    [DataRow("-fjump-tables")]
    public void Freestanding_OverridesFlagsThatUndoIt(string flag)
    {
        var r = Apply(flag);

        Assert.DoesNotContain(flag, r.Flags);
        Assert.AreEqual(FlagChangeKind.Overridden, r.Changes.Single().Kind);
    }

    // ---- sanitizers and instrumentation -----------------------------------------------------

    [TestMethod]
    [DataRow("-fsanitize=address")]
    [DataRow("-fsanitize=undefined")]
    [DataRow("-fsanitize=kernel-address")]
    [DataRow("-fsanitize=kcfi")]
    [DataRow("-fsanitize=cfi-icall")]
    [DataRow("-fsanitize-coverage=trace-pc")]
    [DataRow("-fsanitize-recover=all")]
    [DataRow("-pg")]
    [DataRow("-mfentry")]
    [DataRow("-mrecord-mcount")]
    [DataRow("-mnop-mcount")]
    [DataRow("-fprofile-arcs")]
    [DataRow("-ftest-coverage")]
    [DataRow("--coverage")]
    [DataRow("-fprofile-use=x.profdata")]
    [DataRow("-fprofile-sample-use=x.prof")]
    [DataRow("-fprofile-instr-generate")]
    [DataRow("-fprofile-instr-use=x.profdata")]
    [DataRow("-fprofile-generate")]
    [DataRow("-finstrument-functions")]
    [DataRow("-finstrument-functions-after-inlining")]
    [DataRow("-fstack-protector")]
    [DataRow("-fstack-protector-strong")]
    [DataRow("-fstack-protector-all")]
    [DataRow("-fpatchable-function-entry=16,8")]
    [DataRow("-fcfi-icall")]
    [DataRow("-mindirect-branch=thunk-extern")]
    [DataRow("-mfunction-return=thunk-extern")]
    [DataRow("-fplugin=scripts/gcc-plugins/stackleak_plugin.so")]
    public void Instrumentation_IsRemoved_UnlessKeepSanitizers(string flag)
    {
        var r = Apply($"-O2 {flag} -g");

        Assert.DoesNotContain(flag, r.Flags);
        var change = r.Changes.Single();
        Assert.AreEqual(flag, change.Flag);
        Assert.AreEqual(FlagChangeKind.Removed, change.Kind);
        Assert.IsFalse(string.IsNullOrWhiteSpace(change.Reason));
        CollectionAssert.AreEqual((string[])["-O2", "-g", .. DefaultPolicyFlags], r.Flags.ToArray());

        var kept = Apply($"-O2 {flag} -g", Defaults with { KeepSanitizers = true });

        Assert.IsEmpty(kept.Changes);
        CollectionAssert.AreEqual(new[] { "-O2", flag, "-g" }, kept.Flags.Take(3).ToArray());
    }

    [TestMethod]
    [DataRow("-pg", "__fentry__")]
    [DataRow("-pg", "mcount")]
    [DataRow("-fsanitize=undefined", "__ubsan")]
    [DataRow("-fstack-protector-strong", "__stack_chk_fail")]
    [DataRow("-finstrument-functions", "__cyg_profile_func_enter")]
    public void InstrumentationReason_NamesWhatItWouldEmit(string flag, string emitted)
    {
        StringAssert.Contains(Apply(flag).Changes.Single().Reason, emitted);
    }

    [TestMethod]
    [DataRow("-fno-stack-protector")]
    [DataRow("-fcf-protection=full")]
    [DataRow("-fcf-protection")]
    [DataRow("-fno-sanitize=all")]
    public void HarmlessLookalikes_AreKept(string flag)
    {
        var r = Apply(flag);

        Assert.IsEmpty(r.Changes);
        Assert.AreEqual(flag, r.Flags[0]);
    }

    [TestMethod]
    public void KeptStackProtector_IsNotUndoneByFreestandingFlags()
    {
        var r = Apply("-fstack-protector-strong", Defaults with { KeepSanitizers = true });

        Assert.DoesNotContain("-fno-stack-protector", r.Flags);
        Assert.Contains("-ffreestanding", r.Added);
        Assert.Contains("-fno-jump-tables", r.Added);
    }

    [TestMethod]
    public void RepeatedRemovedFlag_IsReportedOnce_AndRemovedEverywhere()
    {
        var r = Apply("-pg -O2 -pg -mcmodel=large -mcmodel=large -mcmodel=kernel");

        Assert.DoesNotContain("-pg", r.Flags);
        CollectionAssert.AreEqual(new[] { "-pg", "-mcmodel=large", "-mcmodel=kernel" }, r.Changes.Select(c => c.Flag).ToArray());
    }

    // ---- LTO --------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("-flto")]
    [DataRow("-flto=thin")]
    [DataRow("-flto=auto")]
    [DataRow("-flto-partition=one")]
    [DataRow("-ffat-lto-objects")]
    [DataRow("-fno-fat-lto-objects")]
    [DataRow("-fwhole-program-vtables")]
    [DataRow("-fsplit-lto-unit")]
    [DataRow("-fvirtual-function-elimination")]
    public void Lto_IsRemoved_UnlessKeepLto(string flag)
    {
        var r = Apply($"-O2 {flag}");

        Assert.DoesNotContain(flag, r.Flags);
        var change = r.Changes.Single();
        Assert.AreEqual(FlagChangeKind.Removed, change.Kind);
        StringAssert.Contains(change.Reason, "linking module flags 'Code Model': IDs have conflicting values");
        StringAssert.Contains(change.Reason, "kexec");

        var kept = Apply($"-O2 {flag}", Defaults with { KeepLto = true });
        Assert.IsEmpty(kept.Changes);
        Assert.AreEqual(flag, kept.Flags[1]);
    }

    [TestMethod]
    public void KeepLto_DoesNotKeepSanitizers_AndViceVersa()
    {
        var lto = Apply("-flto -pg", Defaults with { KeepLto = true });
        Assert.Contains("-flto", lto.Flags);
        Assert.AreEqual("-pg", lto.Changes.Single().Flag);

        var san = Apply("-flto -pg", Defaults with { KeepSanitizers = true });
        Assert.Contains("-pg", san.Flags);
        Assert.AreEqual("-flto", san.Changes.Single().Flag);
    }

    // ---- per-file flags ---------------------------------------------------------------------

    [TestMethod]
    public void RemoveFlags_GlobAndExact_RemoveFromUserAndAdditionalFlags()
    {
        var r = Apply("-O2 -Wall -Wextra -g -DX=1", additional: "-Werror -DY", remove: "-W* -g");

        CollectionAssert.AreEqual((string[])["-O2", "-DX=1", "-DY", .. DefaultPolicyFlags], r.Flags.ToArray());
        CollectionAssert.AreEqual(new[] { "-Wall", "-Wextra", "-g", "-Werror" }, r.Changes.Select(c => c.Flag).ToArray());
        Assert.IsTrue(r.Changes.All(c => c.Kind == FlagChangeKind.Removed && c.Reason == "RemoveFlags of the file"));
    }

    [TestMethod]
    public void RemoveFlags_WinsOverThePolicyReason()
    {
        var r = Apply("-pg -O2", remove: "-pg");

        Assert.AreEqual("RemoveFlags of the file", r.Changes.Single().Reason);
        Assert.DoesNotContain("-pg", r.Flags);
    }

    [TestMethod]
    public void RemoveFlags_MiddleGlob_DoesNotTouchPolicyFlags()
    {
        var r = Apply("-O2 -fno-omit-frame-pointer -fomit-frame-pointer", remove: "-f*frame*");

        CollectionAssert.AreEqual((string[])["-O2", .. DefaultPolicyFlags], r.Flags.ToArray());
        Assert.HasCount(2, r.Changes);
    }

    [TestMethod]
    public void AdditionalFlags_AreAppendedAfterUserFlags_AndGoThroughThePolicy()
    {
        var r = Apply("-O2 -g", additional: "-DEXTRA -fsanitize=address -O3");

        CollectionAssert.AreEqual((string[])["-O2", "-g", "-DEXTRA", "-O3", .. DefaultPolicyFlags], r.Flags.ToArray());
        Assert.AreEqual("-fsanitize=address", r.Changes.Single().Flag);
    }

    // ---- units kept intact ------------------------------------------------------------------

    [TestMethod]
    [DataRow("-Xclang")]
    [DataRow("-Xassembler")]
    [DataRow("-Xlinker")]
    [DataRow("-Xpreprocessor")]
    [DataRow("-mllvm")]
    public void PassThroughPair_IsKeptIntact_ArgumentNotInspected(string option)
    {
        var r = Apply($"{option} -fsanitize=address -O2 {option} -mcmodel=large");

        Assert.IsEmpty(r.Changes);
        CollectionAssert.AreEqual(new[] { option, "-fsanitize=address", "-O2", option, "-mcmodel=large" }, r.Flags.Take(5).ToArray());
        Assert.Contains("-mcmodel=small", r.Added);
    }

    [TestMethod]
    public void PassThroughPair_CanBeRemovedByRemoveFlags_AsAUnit()
    {
        var r = Apply("-Xclang -fsanitize=address -O2", remove: "-Xclang");

        CollectionAssert.AreEqual((string[])["-O2", .. DefaultPolicyFlags], r.Flags.ToArray());
        Assert.AreEqual("-Xclang -fsanitize=address", r.Changes.Single().Flag);
    }

    [TestMethod]
    [DataRow("-Wp,-pg")]
    [DataRow("-Wa,-fsanitize=address")]
    [DataRow("-Wl,-flto")]
    [DataRow("-Wa,--noexecstack,-mcmodel=large")]
    public void CommaPassThrough_IsKeptAsIs(string flag)
    {
        var r = Apply(flag);

        Assert.IsEmpty(r.Changes);
        Assert.AreEqual(flag, r.Flags[0]);
    }

    [TestMethod]
    public void OutputOrder_SurvivorsThenPolicyFlags()
    {
        var r = FlagPolicy.Apply(
            ["-O2", "-fno-pic", "-Wall", "-mcmodel=kernel", "-fvisibility=default", "-pg", "-flto", "-I", "inc"],
            ["-DEXTRA"], [], CompilerFamily.Gcc, Defaults with { HiddenHeader = "h.h" });

        CollectionAssert.AreEqual(
            new[] { "-O2", "-Wall", "-I", "inc", "-DEXTRA", "-mcmodel=small", "-fpic", "-fvisibility=hidden", "-ffreestanding", "-fno-stack-protector", "-fno-jump-tables", "-include", "h.h" },
            r.Flags.ToArray());
        CollectionAssert.AreEqual(new[] { "-fno-pic", "-mcmodel=kernel", "-fvisibility=default", "-pg", "-flto" }, r.Changes.Select(c => c.Flag).ToArray());
        CollectionAssert.AreEqual(
            new[] { FlagChangeKind.Overridden, FlagChangeKind.Overridden, FlagChangeKind.Overridden, FlagChangeKind.Removed, FlagChangeKind.Removed },
            r.Changes.Select(c => c.Kind).ToArray());
    }

    [TestMethod]
    public void GccAndClang_GetTheSameFlags()
    {
        string user = "-O2 -fno-pic -mcmodel=large -flto -pg";
        var gcc = Apply(user, family: CompilerFamily.Gcc);
        var clang = Apply(user, family: CompilerFamily.Clang);

        CollectionAssert.AreEqual(gcc.Flags.ToArray(), clang.Flags.ToArray());
        CollectionAssert.AreEqual((string[])["-O2", .. DefaultPolicyFlags], gcc.Flags.ToArray());
    }

    // ---- Split ------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("-DNAME=\"a b\"", new[] { "-DNAME=a b" })]
    [DataRow("'x y' z", new[] { "x y", "z" })]
    [DataRow(@"a\ b c", new[] { "a b", "c" })]
    [DataRow("  -O2\t-g\r\n -Wall  ", new[] { "-O2", "-g", "-Wall" })]
    [DataRow(@"""a\""b"" 'c\d'", new[] { "a\"b", @"c\d" })]
    [DataRow(@"""a\xb""", new[] { @"a\xb" })]
    [DataRow(@"""a\\b""", new[] { @"a\b" })]
    [DataRow("'' x", new[] { "", "x" })]
    [DataRow("a'b'\"c\"d", new[] { "abcd" })]
    [DataRow("$HOME * ~ `x`", new[] { "$HOME", "*", "~", "`x`" })]
    [DataRow("'it''s' \"q'q\"", new[] { "its", "q'q" })]
    [DataRow("a\\\nb", new[] { "ab" })]
    [DataRow(@"\'x\'", new[] { "'x'" })]
    public void Split_WordsLikeAPosixShell(string commandLine, string[] expected)
    {
        CollectionAssert.AreEqual(expected, FlagPolicy.Split(commandLine).ToArray());
    }

    [TestMethod]
    [DataRow(null)]
    [DataRow("")]
    [DataRow("   \t\n")]
    public void Split_EmptyInput_HasNoWords(string? commandLine)
    {
        Assert.IsEmpty(FlagPolicy.Split(commandLine));
    }

    [TestMethod]
    [DataRow("-D'x")]
    [DataRow("\"abc")]
    public void Split_UnterminatedQuote_Throws(string commandLine)
    {
        Assert.ThrowsExactly<FormatException>(() => FlagPolicy.Split(commandLine));
    }

    // ---- validation -------------------------------------------------------------------------

    [TestMethod]
    [DataRow("small", true)]
    [DataRow("medium", true)]
    [DataRow("large", true)]
    [DataRow("kernel", true)]
    [DataRow("tiny", true)]
    [DataRow("medlow", true)]
    [DataRow("medany", true)]
    [DataRow("normal", true)]
    [DataRow("huge", false)]
    [DataRow("Small", false)]
    [DataRow("", false)]
    [DataRow("-mcmodel=small", false)]
    public void IsValidCodeModel(string value, bool valid)
    {
        Assert.AreEqual(valid, FlagPolicy.IsValidCodeModel(value));
    }

    [TestMethod]
    [DataRow("default", true)]
    [DataRow("hidden", true)]
    [DataRow("protected", true)]
    [DataRow("internal", true)]
    [DataRow("private", false)]
    [DataRow("", false)]
    public void IsValidVisibility(string value, bool valid)
    {
        Assert.AreEqual(valid, FlagPolicy.IsValidVisibility(value));
    }

    [TestMethod]
    public void Apply_InvalidCodeModelOrVisibility_Throws()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => Apply("-O2", Defaults with { CodeModel = "huge" }));
        StringAssert.Contains(e.Message, "huge");
        Assert.ThrowsExactly<ArgumentException>(() => Apply("-O2", Defaults with { Visibility = "private" }));
    }

    // ---- real compilers ---------------------------------------------------------------------

    private const string Source = """
        static int counter;
        int bump(int by) { counter += by; return counter; }
        """;

    private static readonly string[] UnsafeUserFlags = ["-O2", "-mcmodel=large", "-flto", "-fsanitize=undefined", "-pg"];

    private static byte[] Magic(string path)
    {
        using var f = File.OpenRead(path);
        var b = new byte[4];
        f.ReadExactly(b);
        return b;
    }

    [TestMethod]
    [DataRow(Gcc, CompilerFamily.Gcc)]
    [DataRow(Clang, CompilerFamily.Clang)]
    public void PolicyFlags_TurnUnsafeUserFlagsIntoAPlainElfObject(string compiler, CompilerFamily family)
    {
        using var dir = new TempDir();

        // What the user's flags alone produce: LTO IR, not machine code.
        string raw = Compile(dir.Path, "raw.c", Source, compiler, UnsafeUserFlags);
        if (family == CompilerFamily.Clang)
            CollectionAssert.AreNotEqual(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, Magic(raw), "clang -flto is expected to emit LLVM bitcode");
        else
            StringAssert.Contains(ReadElf("-SW", raw), ".gnu.lto_", "gcc -flto is expected to emit .gnu.lto_ sections");

        var policy = FlagPolicy.Apply(UnsafeUserFlags, [], [], family, Defaults);
        string obj = Compile(dir.Path, "bump.c", Source, compiler, [.. policy.Flags]);

        CollectionAssert.AreEqual(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, Magic(obj));
        string sections = ReadElf("-SW", obj);
        StringAssert.Contains(sections, ".text");
        Assert.DoesNotContain(".ltext", sections);
        Assert.DoesNotContain(".gnu.lto_", sections);
        string relocations = ReadElf("-rW", obj);
        foreach (var symbol in new[] { "__ubsan", "mcount", "__fentry__" })
            Assert.DoesNotContain(symbol, relocations, $"{symbol} in:\n{relocations}");
        CollectionAssert.AreEquivalent(new[] { "-mcmodel=large", "-flto", "-fsanitize=undefined", "-pg" }, policy.Changes.Select(c => c.Flag).ToArray());
    }

    [TestMethod]
    [DataRow(Gcc)]
    [DataRow(Clang)]
    public void WithoutThePolicy_SanitizerAndProfilingCallsAreEmitted(string compiler)
    {
        // The control for the test above: without -flto the same user flags do emit the calls it asserts absent.
        using var dir = new TempDir();
        string obj = Compile(dir.Path, "bump.c", Source, compiler, "-O2", "-fsanitize=undefined", "-pg");

        string relocations = ReadElf("-rW", obj);
        StringAssert.Contains(relocations, "__ubsan");
        Assert.IsTrue(relocations.Contains("mcount") || relocations.Contains("__fentry__"), relocations);
    }
}

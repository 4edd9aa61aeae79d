using System;
using System.Linq;
using Cllm.Tests.Reliability;
using Cllm.Tests.TestKit;
using Microsoft.CodeAnalysis;

namespace Cllm.Tests.Decoding;

/// <summary>
/// <see cref="DecoderOptions"/> is a closed set of value records: each spec parses to its decoder's record, equal
/// settings are equal values (the engine keeps one decoder per distinct options), and no other assembly can add a decoder.
/// </summary>
public class DecoderOptionsTests
{
    [Theory]
    [InlineData("ar", typeof(AutoregressiveOptions), "ar")]
    [InlineData("jacobi:8", typeof(JacobiOptions), "jacobi:8")]
    [InlineData("jacobi:auto", typeof(JacobiOptions), "jacobi:auto")]
    [InlineData("lookahead:3x3x2", typeof(LookaheadOptions), "lookahead:3x3x2")]
    [InlineData("multiblock:8x3x0.5x2", typeof(MultiblockOptions), "multiblock:8x3x0.5x2")]
    public void EachSpecParsesToItsDecodersRecordAndBackToItsLabel(string spec, Type type, string label)
    {
        var options = DecoderOptions.Parse(spec);
        Assert.IsType(type, options);
        Assert.Equal(label, options.Label);
        Assert.Equal(options, DecoderOptions.Parse(label));                  // the label reads back as the same value
    }

    [Theory]
    [InlineData("jacobi:63", true)]
    [InlineData("jacobi:64", false)]
    [InlineData("jacobi:auto", true)]
    [InlineData("lookahead:5x4x5", true)]
    [InlineData("lookahead:20x4x5", false)]
    [InlineData("multiblock:16x2x0.85x2", true)]
    [InlineData("multiblock:16x4x0.85x0", false)]
    [InlineData("lookahead:1073741824x3x0", false)]                                       // 1 + its draft tokens is past int.MaxValue
    [InlineData("multiblock:65536x65536x0.5x0", false)]                                   // K·n is 2^32
    public void ADecoderWhoseForwardCannotFitTheContextBesideAPromptIsRefusedWhenBuilt(string spec, bool fits)
    {
        using var model = TinyLlama.Create(0, TinyLlama.Config(context: 64));
        var options = DecoderOptions.Parse(spec);
        if (fits)
        {
            Assert.NotNull(options.CreateDecoder(model));
            return;
        }

        var ex = Assert.Throws<ArgumentException>(() => options.CreateDecoder(model));
        Assert.StartsWith(spec + " verifies up to ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("context of 64 positions (at most 63)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EqualSettingsAreEqualValuesAndOtherSettingsAreNot()
    {
        Assert.Equal(DecoderOptions.Autoregressive, new AutoregressiveOptions());
        Assert.Equal(DecoderOptions.Parse("jacobi:8"), new JacobiOptions { BlockSize = 8 });
        Assert.Equal(DecoderOptions.Parse("jacobi:8").GetHashCode(), new JacobiOptions { BlockSize = 8 }.GetHashCode());
        Assert.Equal(DecoderOptions.Parse("jacobi", "auto"), DecoderOptions.Parse("jacobi:auto"));
        Assert.Equal(DecoderOptions.Parse("lookahead"), new LookaheadOptions());

        Assert.NotEqual(DecoderOptions.Parse("jacobi:8"), DecoderOptions.Parse("jacobi:16"));
        Assert.NotEqual(new JacobiOptions { BlockSize = 8 }, new JacobiOptions { BlockSize = 8, Seed = 1 });
        Assert.NotEqual<DecoderOptions>(new JacobiOptions { BlockSize = 16 }, new MultiblockOptions { BlockSize = 16 });
        Assert.NotEqual(DecoderOptions.Autoregressive, DecoderOptions.Parse("jacobi:1"));
    }

    [Fact]
    public void AutoBlockSizeOptionsHoldNoPolicySoDecodersOfEqualOptionsAreInterchangeable()
    {
        using var model = TinyLlama.Create(1);
        var first = new JacobiOptions { AutoBlockSize = true };
        _ = first.CreateDecoder(model);                                                   // measures the model's policy
        Assert.Equal(first, new JacobiOptions { AutoBlockSize = true });                  // building changed nothing in the value
        Assert.DoesNotContain(typeof(JacobiOptions).GetProperties(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic),
            p => !p.PropertyType.IsValueType && p.PropertyType != typeof(string) && p.Name != "EqualityContract");
    }

    [Fact]
    public void TheSetIsClosed()
    {
        var derived = typeof(DecoderOptions).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(DecoderOptions))).OrderBy(t => t.Name).ToArray();
        Assert.Equal(new[] { typeof(AutoregressiveOptions), typeof(JacobiOptions), typeof(LookaheadOptions), typeof(MultiblockOptions) }, derived);
        Assert.All(derived, t => Assert.True(t.IsSealed, t.Name));

        // Another assembly cannot derive a decoder of its own (the builder is private protected).
        var compilation = RepositoryCompilations.CreateSnippet(
            "public sealed record MyDecoder : Cllm.DecoderOptions { public override string Label => \"mine\"; public override void Validate() { } }",
            "MyDecoder.cs");
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Id).ToArray();
        Assert.Contains("CS0534", errors);                                               // does not implement the inherited abstract member
    }

    [Theory]
    [InlineData("beam")]
    [InlineData("lookahead:5x4")]
    [InlineData("jacobi:big")]
    [InlineData("multiblock:16x2xhalf")]
    public void ParseErrorsQuoteTheSpecAndNameNoFlag(string spec)
    {
        string message = Assert.Throws<FormatException>(() => DecoderOptions.Parse(spec)).Message;
        Assert.Contains($"'{spec}'", message);
        Assert.DoesNotContain("--", message);
    }
}

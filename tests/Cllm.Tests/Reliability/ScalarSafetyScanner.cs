using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Cllm.Tests.Reliability;

/// <summary>
/// Walks every IOperation of a compilation's source files and reports what Microsoft.CodeAnalysis.BannedApiAnalyzers
/// (build/BannedSymbols.txt, RS0030) cannot see: (1) compound assignments (<c>t += b</c>, <c>t *= 2.0</c>) with a
/// TorchSharp operator or operand; (2) calls and property reads through a TorchSharp base type or interface whose
/// overrides include a banned member (<c>Optimizer o = adamW; o.step()</c>), and <c>Module.call</c>, which dispatches to a
/// banned <c>forward</c>; and, as a double check of the analyzer, (3) user-defined conversions to <c>TorchSharp.Scalar</c>
/// and any direct use of a banned member.
/// </summary>
internal sealed class ScalarSafetyScanner
{
    private const string TorchSharpAssembly = "TorchSharp";
    private readonly HashSet<string> _banned;
    private int _torchSharpUses;

    public ScalarSafetyScanner(IEnumerable<string> bannedIds)
    {
        _banned = new HashSet<string>(bannedIds.Select(Normalize), StringComparer.Ordinal);
    }

    /// <summary>Operations walked so far that use a TorchSharp member (shows the scan saw real TorchSharp code).</summary>
    public int TorchSharpUses => _torchSharpUses;

    /// <summary>The banned IDs that name no symbol in <paramref name="compilation"/> (a typo or an API that changed: the analyzer ignores those silently).</summary>
    public IReadOnlyList<string> Unresolved(Compilation compilation) =>
        _banned.Where(id => DocumentationCommentId.GetSymbolsForDeclarationId(id, compilation).IsDefaultOrEmpty).OrderBy(id => id, StringComparer.Ordinal).ToList();

    /// <summary>The documentation IDs of a BannedSymbols.txt: the part of each entry before ';', without comments and blank lines.</summary>
    public static IReadOnlyList<string> ReadBannedIds(string path) =>
        File.ReadLines(path)
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith("//", StringComparison.Ordinal))
            .Select(line => line.Split(';', 2)[0].Trim())
            .ToList();

    /// <summary>
    /// Findings in the compilation's files (paths made relative to <paramref name="root"/>, files with an empty path skipped),
    /// ordered by file and line. Files are scanned in parallel.
    /// </summary>
    public IReadOnlyList<ScalarSafetyFinding> Scan(Compilation compilation, string root)
    {
        var overriddenByBanned = OverriddenByBanned(compilation);
        return compilation.SyntaxTrees
            .Where(t => t.FilePath.Length > 0)
            .AsParallel()
            .SelectMany(tree => ScanFile(compilation, tree, root, overriddenByBanned))
            .OrderBy(f => f.File, StringComparer.Ordinal)
            .ThenBy(f => f.Line)
            .ToList();
    }

    private List<ScalarSafetyFinding> ScanFile(Compilation compilation, SyntaxTree tree, string root, Dictionary<string, SortedSet<string>> overriddenByBanned)
    {
        var model = compilation.GetSemanticModel(tree);
        var findings = new List<ScalarSafetyFinding>();
        var covered = new HashSet<SyntaxNode>();
        var file = root.Length == 0 ? tree.FilePath : Path.GetRelativePath(root, tree.FilePath).Replace('\\', '/');

        // Top down: the first node with an operation is the root of a member's operation tree (body, initializer, top-level statement).
        var pending = new Stack<SyntaxNode>();
        pending.Push(tree.GetRoot());
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            bool container = node is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax or BaseTypeDeclarationSyntax;
            if (!container && model.GetOperation(node) is { } operation)
            {
                Walk(operation, compilation, overriddenByBanned, file, findings, covered);
                continue;
            }

            foreach (var child in node.ChildNodes())
            {
                pending.Push(child);
            }
        }

        // Coverage: every call, assignment, operator, cast and `new` in the file must have been walked.
        var missed = tree.GetRoot().DescendantNodes()
            .Where(n => n is InvocationExpressionSyntax or AssignmentExpressionSyntax or BinaryExpressionSyntax or CastExpressionSyntax or BaseObjectCreationExpressionSyntax)
            .Where(n => !covered.Contains(n))
            .ToList();
        if (missed.Count > 0)
        {
            throw new InvalidOperationException("The scan did not reach: " + string.Join("; ", missed.Take(10).Select(n => $"{file}:{Line(n)}: {Code(n)}")));
        }

        return findings;
    }

    private void Walk(IOperation root, Compilation compilation, Dictionary<string, SortedSet<string>> overriddenByBanned, string file, List<ScalarSafetyFinding> findings, HashSet<SyntaxNode> covered)
    {
        var pending = new Stack<IOperation>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var operation = pending.Pop();
            covered.Add(operation.Syntax);
            if (Check(operation, compilation, overriddenByBanned) is { } rule)
            {
                findings.Add(new ScalarSafetyFinding(file, Line(operation.Syntax), rule, Code(operation.Syntax)));
            }

            foreach (var child in operation.ChildOperations)
            {
                pending.Push(child);
            }
        }
    }

    /// <summary>
    /// <c>CompilationUnit.invoke(name, args)</c> whose arguments are statically Tensors (a <c>Tensor[]</c>, or Tensor-typed
    /// params): no number is boxed into a Scalar, which is all the ban on invoke is about.
    /// </summary>
    private static bool IsTensorOnlyScriptInvoke(IInvocationOperation invocation)
    {
        if (invocation.TargetMethod.Name != "invoke" || invocation.TargetMethod.ContainingType?.ToDisplayString() != "TorchSharp.torch.jit.CompilationUnit")
        {
            return false;
        }

        return invocation.Arguments.Skip(1).All(argument => argument.ArgumentKind == ArgumentKind.ParamArray
            ? argument.Value is IArrayCreationOperation { Initializer: { } init } && init.ElementValues.All(e => IsTensorType(Unwrapped(e).Type))
            : Unwrapped(argument.Value).Type is IArrayTypeSymbol { ElementType: var element } && IsTensorType(element));
    }

    private static IOperation Unwrapped(IOperation value) => value is IConversionOperation { IsImplicit: true } conversion ? conversion.Operand : value;

    private static bool IsTensorType(ITypeSymbol? type) => type?.ToDisplayString() == "TorchSharp.torch.Tensor";

    private string? Check(IOperation operation, Compilation compilation, Dictionary<string, SortedSet<string>> overriddenByBanned)
    {
        switch (operation)
        {
            case ICompoundAssignmentOperation compound when IsTorch(compound.OperatorMethod) || IsTorch(compound.Target.Type) || IsTorch(compound.Value.Type):
                Interlocked.Increment(ref _torchSharpUses);
                return $"compound assignment on a TorchSharp operand ({Describe(compound.OperatorMethod)}), which RS0030 does not see: call the method with explicitly owned Scalars";
            case IIncrementOrDecrementOperation step when IsTorch(step.OperatorMethod) || IsTorch(step.Target.Type):
                Interlocked.Increment(ref _torchSharpUses);
                return "increment/decrement on a TorchSharp operand";
            case IConversionOperation { OperatorMethod: { } conversion } when IsScalar(conversion.ContainingType) || IsScalar(operation.Type):
                Interlocked.Increment(ref _torchSharpUses);
                return $"user-defined conversion to TorchSharp.Scalar ({Describe(conversion)}): use `using var s = x.ToScalar();`";
        }

        var member = operation switch
        {
            IInvocationOperation invocation => (ISymbol)invocation.TargetMethod,
            IMethodReferenceOperation reference => reference.Method,
            IPropertyReferenceOperation property => property.Property,
            IObjectCreationOperation creation => creation.Constructor,
            IBinaryOperation binary => binary.OperatorMethod,
            IUnaryOperation unary => unary.OperatorMethod,
            IConversionOperation conversion => conversion.OperatorMethod,
            _ => null,
        };
        if (member is null || !IsTorch(member) && BannedInChain(member) is null)
        {
            return null;
        }

        if (operation is IInvocationOperation script && IsTensorOnlyScriptInvoke(script))
        {
            Interlocked.Increment(ref _torchSharpUses);
            return null;                                                                    // the ban names its own exception: "Tensor-only calls are not affected"
        }

        if (IsTorch(member))
        {
            Interlocked.Increment(ref _torchSharpUses);
        }

        if (BannedInChain(member) is { } banned)
        {
            return $"banned member {banned}";
        }

        if (IsDispatching(member) && overriddenByBanned.TryGetValue(Id(member), out var overrides))
        {
            return $"call through a base type or interface ({Id(member)}) may run a banned override ({List(overrides)})";
        }

        // Module.call (invoked or taken as a method group) runs the receiver's forward.
        var (method, receiver) = operation switch
        {
            IInvocationOperation invocation => (invocation.TargetMethod, invocation.Instance),
            IMethodReferenceOperation reference => (reference.Method, reference.Instance),
            _ => (null, null),
        };
        if (method is { Name: "call" } && IsModuleType(method.ContainingType))
        {
            var forward = ResolveForward(receiver?.Type, method.Parameters.Length, compilation);
            if (forward is null)
            {
                return null;
            }

            if (BannedInChain(forward) is { } bannedForward)
            {
                return $"Module.call runs the banned {bannedForward}";
            }

            if (IsTorch(forward) && IsDispatching(forward) && overriddenByBanned.TryGetValue(Id(forward), out var forwardOverrides))
            {
                return $"Module.call through a base type runs {Id(forward)}, which may be a banned override ({List(forwardOverrides)})";
            }
        }

        return null;
    }

    // The member, or a member it overrides, listed in BannedSymbols.txt; null if none.
    private string? BannedInChain(ISymbol member)
    {
        for (var current = member; current is not null; current = Overridden(current))
        {
            var id = Id(current);
            if (_banned.Contains(id))
            {
                return id;
            }
        }

        return null;
    }

    // Base and interface members (declaration IDs) that a banned member overrides or implements, each with those banned members.
    private Dictionary<string, SortedSet<string>> OverriddenByBanned(Compilation compilation)
    {
        var result = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        void Add(ISymbol baseMember, string banned)
        {
            var id = Id(baseMember);
            if (!result.TryGetValue(id, out var set))
            {
                result[id] = set = new SortedSet<string>(StringComparer.Ordinal);
            }

            set.Add(banned);
        }

        foreach (var banned in _banned)
        {
            foreach (var symbol in DocumentationCommentId.GetSymbolsForDeclarationId(banned, compilation))
            {
                var chain = new List<ISymbol>();
                for (var current = symbol; current is not null; current = Overridden(current))
                {
                    chain.Add(current.OriginalDefinition);
                    if (!ReferenceEquals(current, symbol))
                    {
                        Add(current, banned);
                    }
                }

                if (symbol.ContainingType is not { } type)
                {
                    continue;
                }

                foreach (var interfaceMember in type.AllInterfaces.SelectMany(i => i.GetMembers()))
                {
                    if (type.FindImplementationForInterfaceMember(interfaceMember) is { } implementation
                        && chain.Any(c => SymbolEqualityComparer.Default.Equals(c, implementation.OriginalDefinition)))
                    {
                        Add(interfaceMember, banned);
                    }
                }
            }
        }

        return result;
    }

    // The forward() that Module.call runs for a receiver of this static type: the most derived declaration; for an
    // interface or type parameter receiver, the abstract Module`N.forward.
    private static IMethodSymbol? ResolveForward(ITypeSymbol? receiver, int arity, Compilation compilation)
    {
        for (var type = receiver as INamedTypeSymbol; type is not null && type.TypeKind == TypeKind.Class; type = type.BaseType)
        {
            var forward = type.GetMembers("forward").OfType<IMethodSymbol>().FirstOrDefault(m => !m.IsStatic && m.Parameters.Length == arity);
            if (forward is not null)
            {
                return forward;
            }
        }

        return compilation.GetTypeByMetadataName($"TorchSharp.torch+nn+Module`{arity + 1}")?
            .GetMembers("forward").OfType<IMethodSymbol>().FirstOrDefault(m => m.Parameters.Length == arity);
    }

    private static bool IsModuleType(INamedTypeSymbol? type) =>
        type is not null && IsTorch(type)
        && type.ContainingType?.Name == "nn" && type.Name is "Module" or "IModule";

    private static bool IsDispatching(ISymbol member) =>
        member.IsVirtual || member.IsAbstract || member.IsOverride || member.ContainingType?.TypeKind == TypeKind.Interface;

    private static ISymbol? Overridden(ISymbol member) => member switch
    {
        IMethodSymbol method => method.OverriddenMethod,
        IPropertySymbol property => property.OverriddenProperty,
        IEventSymbol @event => @event.OverriddenEvent,
        _ => null,
    };

    private static string Id(ISymbol member) => Normalize(DocumentationCommentId.CreateDeclarationId(member.OriginalDefinition) ?? member.ToDisplayString());

    // Roslyn 5 appends "~ReturnType" to every method's declaration ID; BannedSymbols.txt (like the ID format) has it only on conversion operators.
    private static string Normalize(string id)
    {
        int tilde = id.IndexOf('~', StringComparison.Ordinal);
        return tilde < 0 || id.Contains(".op_Implicit(", StringComparison.Ordinal) || id.Contains(".op_Explicit(", StringComparison.Ordinal) ? id : id[..tilde];
    }

    private static bool IsTorch(ISymbol? symbol) => symbol?.ContainingAssembly?.Name == TorchSharpAssembly;

    private static bool IsScalar(ITypeSymbol? type) => IsTorch(type) && type!.Name == "Scalar" && type.ContainingNamespace.ToDisplayString() == "TorchSharp";

    private static string Describe(IMethodSymbol? method) => method is null ? "built-in operator" : Id(method);

    private static string List(IReadOnlyCollection<string> ids) =>
        string.Join(", ", ids.Take(3)) + (ids.Count > 3 ? $", +{ids.Count - 3} more" : string.Empty);

    private static int Line(SyntaxNode node) => node.GetLocation().GetLineSpan().StartLinePosition.Line + 1;

    private static string Code(SyntaxNode node)
    {
        var text = string.Join(" ", node.ToString().Split(new[] { '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()));
        return text.Length <= 160 ? text : text[..157] + "...";
    }
}

// Counts the public (exported) types of the packed Cllm libraries, without loading them:
//   dotnet run build/CountPublicTypes.cs -- [Release]
// Reads src/Cllm.{Core,Decoding,Training}/bin/<config>/net10.0/*.dll metadata and prints each public type by namespace.
using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

string config = args.Length > 0 ? args[0] : "Release";
string root = Directory.GetCurrentDirectory();
int total = 0;
var namespaces = new SortedSet<string>();
foreach (var project in new[] { "Cllm.Core", "Cllm.Decoding", "Cllm.Training" })
{
    string dll = Path.Combine(root, "src", project, "bin", config, "net10.0", project + ".dll");
    using var pe = new PEReader(File.OpenRead(dll));
    var md = pe.GetMetadataReader();
    var names = new List<string>();
    foreach (var handle in md.TypeDefinitions)
    {
        var type = md.GetTypeDefinition(handle);
        if (!IsExported(md, type))
        {
            continue;
        }

        string ns = md.GetString(type.Namespace);
        string name = md.GetString(type.Name);
        var declaring = type.GetDeclaringType();
        while (!declaring.IsNil)
        {
            var outer = md.GetTypeDefinition(declaring);
            name = md.GetString(outer.Name) + "+" + name;
            ns = md.GetString(outer.Namespace);
            declaring = outer.GetDeclaringType();
        }

        names.Add($"{ns}.{name}");
        namespaces.Add(ns);
    }

    names.Sort(StringComparer.Ordinal);
    Console.WriteLine($"{project}: {names.Count}");
    foreach (var n in names)
    {
        Console.WriteLine("  " + n);
    }

    total += names.Count;
}

Console.WriteLine($"total public types: {total} in {namespaces.Count} namespaces ({string.Join(", ", namespaces)})");

static bool IsExported(MetadataReader md, TypeDefinition type)
{
    var visibility = type.Attributes & TypeAttributes.VisibilityMask;
    if (visibility == TypeAttributes.Public)
    {
        return true;
    }

    if (visibility is TypeAttributes.NestedPublic or TypeAttributes.NestedFamily or TypeAttributes.NestedFamORAssem)
    {
        return IsExported(md, md.GetTypeDefinition(type.GetDeclaringType()));
    }

    return false;
}

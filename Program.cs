using System.Linq; using System.Reflection;
foreach (var name in new[]{"IChatClient","ChatResponse","ChatResponseUpdate","UsageDetails","ChatOptions","ChatClientMetadata","UsageContent","ChatMessage"}) {
  var t = typeof(Microsoft.Extensions.AI.IChatClient).Assembly.GetTypes().First(x => x.Name == name);
  System.Console.WriteLine("== " + t.FullName);
  foreach (var c in t.GetConstructors()) System.Console.WriteLine("  ctor(" + string.Join(", ", c.GetParameters().Select(p => p.ParameterType.Name + " " + p.Name)) + ")");
  foreach (var p in t.GetProperties(BindingFlags.Public|BindingFlags.Instance|BindingFlags.DeclaredOnly)) System.Console.WriteLine("  " + p.PropertyType.Name + " " + p.Name);
  foreach (var m in t.GetMethods(BindingFlags.Public|BindingFlags.Instance|BindingFlags.DeclaredOnly).Where(m=>!m.IsSpecialName)) System.Console.WriteLine("  m " + m.ReturnType.Name + " " + m.Name + "(" + string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name + " " + p.Name)) + ")");
}

// Keeps every TorchSharp Scalar made inside a method alive until the method returns.
//
// Why: TorchSharp 0.107 turns numbers into native scalars on the fly (`x * 0.5`, `clamp(0, 255)`, and the
// alpha = 1 of every `a + b`), passes `scalar.Handle` to libtorch and keeps no reference to the Scalar. A garbage
// collection started by another thread during that call can then run the Scalar's finalizer, which frees the
// native scalar while libtorch reads it: random "Unknown scalar type." or "Expected false to be true" errors
// (upstream: dotnet/TorchSharp PRs 1434 and 1496, open). After each conversion we store the Scalar in a local
// and call GC.KeepAlive on it before every return. Run on TorchSharp.dll in each output folder and on our
// compiled assemblies; a marker type makes it idempotent.
using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;

const string Marker = "<DenseFlow>ScalarsKeptAlive";
// Arguments: assemblies to patch; `--search DIR;DIR` adds folders where their references are found.
var searchDirs = new List<string>();
var paths = new List<string>();
for (int a = 0; a < args.Length; a++)
{
    if (args[a] == "--search" && a + 1 < args.Length) searchDirs.AddRange(args[++a].Split(';', StringSplitOptions.RemoveEmptyEntries));
    else paths.Add(args[a]);
}
int status = 0;
foreach (var path in paths)
{
    try { Console.WriteLine(Patch(path, searchDirs)); }
    catch (Exception e) { Console.Error.WriteLine($"{path}: scalar keep-alive patch failed: {e.Message}"); status = 1; }
}
return status;

static string Patch(string path, List<string> searchDirs)
{
    string pdb = Path.ChangeExtension(path, ".pdb");
    bool symbols = File.Exists(pdb);
    var resolver = new DefaultAssemblyResolver();
    resolver.AddSearchDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    foreach (var dir in searchDirs.Distinct()) resolver.AddSearchDirectory(dir);
    var read = new ReaderParameters { InMemory = true, ReadSymbols = symbols, AssemblyResolver = resolver };
    using var assembly = AssemblyDefinition.ReadAssembly(path, read);
    var module = assembly.MainModule;
    if (module.Types.Any(t => t.Name == Marker)) return $"{path}: already patched";

    // GC.KeepAlive(object) through the module's own core library reference (System.Runtime, netstandard, …).
    var gc = new TypeReference("System", "GC", module, module.TypeSystem.CoreLibrary);
    var keepAlive = new MethodReference("KeepAlive", module.TypeSystem.Void, gc) { HasThis = false };
    keepAlive.Parameters.Add(new ParameterDefinition(module.TypeSystem.Object));
    int methods = 0, sites = 0;
    foreach (var type in module.GetTypes())
        foreach (var method in type.Methods)
        {
            if (!method.HasBody || IsConversion(method)) continue;
            int n = Rewrite(method, keepAlive);
            if (n > 0) { methods++; sites += n; }
        }
    module.Types.Add(new TypeDefinition("", Marker, TypeAttributes.NotPublic | TypeAttributes.Abstract | TypeAttributes.Sealed, module.TypeSystem.Object));
    string tmp = path + ".keepalive.tmp";
    assembly.Write(tmp, new WriterParameters { WriteSymbols = symbols });
    File.Move(tmp, path, overwrite: true);
    if (symbols) File.Move(Path.ChangeExtension(tmp, ".pdb"), pdb, overwrite: true);
    return $"{path}: {sites} Scalar conversions in {methods} methods kept alive";
}

// Scalar.op_Implicit(number) and ScalarExtensionMethods.ToScalar()/ToFloat16Scalar()/… make a new Scalar.
static bool IsConversion(MethodReference m) =>
    m.ReturnType.FullName == "TorchSharp.Scalar" &&
    ((m.DeclaringType.FullName == "TorchSharp.Scalar" && m.Name == "op_Implicit") ||
     (m.DeclaringType.FullName == "TorchSharp.ScalarExtensionMethods" && m.Name.StartsWith("To")));

static int Rewrite(MethodDefinition method, MethodReference keepAlive)
{
    var body = method.Body;
    var conversions = body.Instructions
        .Where(i => i.OpCode == OpCodes.Call && i.Operand is MethodReference m && IsConversion(m)).ToList();
    if (conversions.Count == 0) return 0;
    // Code between `tail.` and its ret would be invalid IL; C# never emits the prefix, so refuse rather than guess.
    if (body.Instructions.Any(i => i.OpCode == OpCodes.Tail))
        throw new InvalidOperationException($"{method.FullName}: a tail call in a method that makes a Scalar");
    body.SimplifyMacros();
    var il = body.GetILProcessor();
    var kept = new List<VariableDefinition>();
    foreach (var call in conversions)
    {
        var local = new VariableDefinition(((MethodReference)call.Operand).ReturnType);
        body.Variables.Add(local);
        kept.Add(local);
        il.InsertAfter(call, il.Create(OpCodes.Dup));
        il.InsertAfter(call.Next, il.Create(OpCodes.Stloc, local));
    }
    foreach (var ret in body.Instructions.Where(i => i.OpCode == OpCodes.Ret).ToList())
    {
        // The ret instruction itself becomes the first load, so branches and handler ends that point at it stay right.
        ret.OpCode = OpCodes.Ldloc;
        ret.Operand = kept[0];
        var at = ret;
        for (int k = 0; k < kept.Count; k++)
        {
            if (k > 0) { var load = il.Create(OpCodes.Ldloc, kept[k]); il.InsertAfter(at, load); at = load; }
            var call = il.Create(OpCodes.Call, keepAlive);
            il.InsertAfter(at, call);
            at = call;
        }
        il.InsertAfter(at, il.Create(OpCodes.Ret));
    }
    body.OptimizeMacros();
    return conversions.Count;
}

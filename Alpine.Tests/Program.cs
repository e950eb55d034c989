using System.Reflection;
using NUnit.Framework.Interfaces;

namespace Alpine.Tests;

/// <summary>
/// `dotnet test` runs this assembly through the NUnit adapter and never calls Main. Main exists for the lent
/// GPU machine, which has a .NET runtime but no SDK (so no `dotnet test`): `dotnet Alpine.Tests.dll --category Cuda`
/// runs every test of that category with a minimal runner (fixtures, SetUp/TearDown, TestCase arguments) and
/// prints "N passed, N failed, N skipped".
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string category = args.Length == 2 && args[0] == "--category" ? args[1] : "";
        if (category.Length == 0)
        {
            Console.Error.WriteLine("usage: Alpine.Tests --category NAME   (use `dotnet test` for the full suite)");
            return 2;
        }
        int passed = 0, failed = 0, skipped = 0;
        foreach (var type in typeof(Program).Assembly.GetTypes().Where(t => t.IsClass && !t.IsAbstract).OrderBy(t => t.FullName))
        {
            bool classInCategory = HasCategory(type, category);
            var tests = type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
                .Where(m => (m.IsDefined(typeof(TestAttribute)) || m.IsDefined(typeof(TestCaseAttribute)))
                            && (classInCategory || HasCategory(m, category)))
                .OrderBy(m => m.Name).ToList();
            if (tests.Count == 0) continue;
            object fixture = Activator.CreateInstance(type)!;
            Invoke(fixture, typeof(OneTimeSetUpAttribute));
            foreach (var m in tests)
            {
                var cases = m.GetCustomAttributes<TestCaseAttribute>().Select(c => c.Arguments).DefaultIfEmpty([]).ToList();
                foreach (var argsOfCase in cases)
                {
                    string name = $"{type.Name}.{m.Name}({string.Join(",", argsOfCase)})";
                    try
                    {
                        Invoke(fixture, typeof(SetUpAttribute));
                        try { m.Invoke(fixture, argsOfCase); }
                        finally { Invoke(fixture, typeof(TearDownAttribute)); }
                        passed++;
                        Console.WriteLine($"PASS {name}");
                    }
                    catch (TargetInvocationException e) when (e.InnerException is IgnoreException or InconclusiveException)
                    {
                        skipped++;
                        Console.WriteLine($"SKIP {name}: {e.InnerException!.Message}");
                    }
                    catch (Exception e)
                    {
                        failed++;
                        Console.WriteLine($"FAIL {name}: {(e.InnerException ?? e).Message}");
                    }
                }
            }
            Invoke(fixture, typeof(OneTimeTearDownAttribute));
        }
        Console.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped");
        return failed == 0 ? 0 : 1;
    }

    private static bool HasCategory(MemberInfo member, string category) =>
        member.GetCustomAttributes<CategoryAttribute>().Any(c => c.Name == category);

    private static void Invoke(object fixture, Type attribute)
    {
        foreach (var m in fixture.GetType().GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.IsDefined(attribute)))
            m.Invoke(fixture, null);
    }
}

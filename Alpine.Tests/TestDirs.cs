namespace Alpine.Tests;

/// <summary>Fresh temporary folders for tests, removed afterwards.</summary>
public static class TestDirs
{
    public static string Create()
    {
        string d = Path.Combine(Path.GetTempPath(), "alpine-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    public static void Delete(string dir)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}

using System.Runtime.InteropServices;

namespace Alpine.Distributed;

/// <summary>
/// <see cref="IRankGroup"/> over MPI_COMM_WORLD of the Open MPI library the process was started under
/// (<c>mpirun</c>), bound directly to <c>libmpi.so.40</c>: the few calls used (init, rank, size, allgather,
/// abort, finalize). MPI.NET 1.4.0 cannot serve here: it is built against MS-MPI, whose handles are integer
/// constants compiled into it, while Open MPI's communicator, datatype and operation handles are the
/// addresses of exported globals (<c>ompi_mpi_comm_world</c>, <c>ompi_mpi_float</c>, …), read here at load.
/// One per process: MPI can be initialised once.
/// </summary>
public sealed unsafe class MpiGroup : IRankGroup
{
    private const string Library = "libmpi.so.40";
    private const int Success = 0;
    private static readonly object Gate = new();
    private static bool _started;

    private readonly nint _world, _float, _double;
    private bool _finalized;

    public int Rank { get; }
    public int Size { get; }

    private MpiGroup(nint lib)
    {
        _world = NativeLibrary.GetExport(lib, "ompi_mpi_comm_world");
        _float = NativeLibrary.GetExport(lib, "ompi_mpi_float");
        _double = NativeLibrary.GetExport(lib, "ompi_mpi_double");
        var init = (delegate* unmanaged<int*, byte***, int>)NativeLibrary.GetExport(lib, "MPI_Init");
        _rank = (delegate* unmanaged<nint, int*, int>)NativeLibrary.GetExport(lib, "MPI_Comm_rank");
        _size = (delegate* unmanaged<nint, int*, int>)NativeLibrary.GetExport(lib, "MPI_Comm_size");
        _allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)NativeLibrary.GetExport(lib, "MPI_Allgather");
        _allgatherv = (delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int>)NativeLibrary.GetExport(lib, "MPI_Allgatherv");
        _abort = (delegate* unmanaged<nint, int, int>)NativeLibrary.GetExport(lib, "MPI_Abort");
        _finalize = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "MPI_Finalize");
        Check(init(null, null), "MPI_Init");
        int rank, size;
        Check(_rank(_world, &rank), "MPI_Comm_rank");
        Check(_size(_world, &size), "MPI_Comm_size");
        Rank = rank; Size = size;
    }

    private readonly delegate* unmanaged<nint, int*, int> _rank, _size;
    private readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> _allgather;
    private readonly delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int> _allgatherv;
    private readonly delegate* unmanaged<nint, int, int> _abort;
    private readonly delegate* unmanaged<int> _finalize;

    /// <summary>Whether this process was started by Open MPI's <c>mpirun</c> (it sets OMPI_COMM_WORLD_SIZE).</summary>
    public static bool UnderMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <summary>Initialises MPI and joins MPI_COMM_WORLD; throws <see cref="Data.UsageException"/> where Open MPI is missing.</summary>
    public static MpiGroup Start()
    {
        lock (Gate)
        {
            if (_started) throw new InvalidOperationException("MPI is initialised once per process");
            if (!NativeLibrary.TryLoad(Library, out nint lib))
                throw new Data.UsageException($"--distributed needs Open MPI's {Library} (Debian: apt-get install openmpi-bin libopenmpi-dev)");
            _started = true;
            return new MpiGroup(lib);
        }
    }

    public void AllGather(ReadOnlySpan<float> local, Span<float> all) => Gather(local, all, _float);
    public void AllGather(ReadOnlySpan<double> local, Span<double> all) => Gather(local, all, _double);

    private void Gather<T>(ReadOnlySpan<T> local, Span<T> all, nint type) where T : unmanaged
    {
        if (all.Length != local.Length * Size) throw new ArgumentException($"expected {local.Length * Size} values, got {all.Length}", nameof(all));
        fixed (T* send = local)
        fixed (T* receive = all)
            Check(_allgather(send, local.Length, type, receive, local.Length, type, _world), "MPI_Allgather");
    }

    public void AllGatherVariable(ReadOnlySpan<float> local, Span<float> all, int[] counts)
    {
        if (counts.Length != Size || counts[Rank] != local.Length || counts.Sum() != all.Length)
            throw new ArgumentException("counts must give each rank's length, this rank's that of local, summing to all's");
        var displacements = new int[Size];
        for (int r = 1; r < Size; r++) displacements[r] = displacements[r - 1] + counts[r - 1];
        fixed (float* send = local)
        fixed (float* receive = all)
        fixed (int* c = counts)
        fixed (int* d = displacements)
            Check(_allgatherv(send, local.Length, _float, receive, c, d, _float, _world), "MPI_Allgatherv");
    }

    public void Abort(int code) => _abort(_world, code);

    public void Dispose()
    {
        if (_finalized) return;
        _finalized = true;
        _finalize();
    }

    // Open MPI's default error handler aborts the job before a call returns an error; this covers one that returns.
    private static void Check(int rc, string call)
    {
        if (rc != Success) throw new InvalidOperationException($"{call} failed with MPI error {rc}");
    }
}

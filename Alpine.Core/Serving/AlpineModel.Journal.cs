using Alpine.Data;

namespace Alpine.Serving;

public sealed partial class AlpineModel
{
    /// <summary>Opens (locks) the serving folder's journal and replays its observations in order.</summary>
    private void OpenJournal(string dir, JournalSync sync)
    {
        var journal = Journal.Open(dir, Data.Fingerprint, sync, out var records, out string? warning);
        try
        {
            foreach (var (offset, o) in records)
            {
                try
                {
                    var current = State(o.User);
                    CheckItem(o.Item, "item");
                    if (o.Timestamp < current.LastTimestamp)
                        throw new ServingInputException("timestamp", $"timestamp {o.Timestamp} is before the user's latest impression ({current.LastTimestamp})");
                    Apply(current, o);
                }
                catch (ServingInputException e)
                {
                    throw new DataFormatException(journal.Path, $"the record at byte {offset} does not fit the data: {e.Message}");
                }
            }
        }
        catch { journal.Dispose(); throw; }
        _journal = journal;
        if (warning is not null) Warnings = [warning];
    }
}

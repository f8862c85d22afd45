using DaxFs.Core.Read;

namespace DaxFs.Core.Tests.Read;

/// <summary>
/// The read-ahead enumeration Get-DaxFsItem lists through: the source's order, its exception after the items made before
/// it, a short listing kept on the caller's thread, and a consumer that stops early or is cancelled, after which the
/// source is never moved on again and is disposed only once the worker has stopped.
/// </summary>
public class ReadAheadTests
{
    /// <summary>A source of 0..count-1 that records who moves it on, when, and whether two threads ever did at once.</summary>
    private sealed class Probe
    {
        private int _inside;
        public int Overlaps, MovesAfterDispose;
        public volatile bool Disposed;
        public readonly HashSet<int> Threads = new();
        public readonly ManualResetEventSlim Produced = new();
        public int Made;

        public IEnumerable<int> Items(int count, int failAt = -1, int slowFrom = int.MaxValue)
        {
            try
            {
                for (int i = 0; i < count; i++)
                {
                    if (Interlocked.Increment(ref _inside) > 1) Interlocked.Increment(ref Overlaps);
                    if (Disposed) Interlocked.Increment(ref MovesAfterDispose);
                    lock (Threads) Threads.Add(Environment.CurrentManagedThreadId);
                    if (i >= slowFrom) Thread.Sleep(1);
                    Interlocked.Decrement(ref _inside);
                    if (i == failAt) throw new InvalidDataException($"bad entry {i}");
                    Made = i + 1;
                    if (i >= 100) Produced.Set();
                    yield return i;
                }
            }
            finally
            {
                Disposed = true;
            }
        }
    }

    [Theory]
    [InlineData(0, 16)]
    [InlineData(1, 16)]
    [InlineData(15, 16)]
    [InlineData(16, 16)]
    [InlineData(17, 16)]
    [InlineData(100_000, 16)]
    [InlineData(100_000, 0)]
    public void Gives_every_item_in_the_source_order(int count, int synchronous)
    {
        var probe = new Probe();
        var got = ReadAhead.Of(probe.Items(count), synchronous, batchSize: 7, batchesAhead: 2).ToList();
        Assert.Equal(Enumerable.Range(0, count), got);
        Assert.Equal(0, probe.Overlaps);
        Assert.True(probe.Disposed);
    }

    [Fact]
    public void Moves_a_long_source_on_from_a_worker_thread_and_a_short_one_on_the_callers()
    {
        int caller = Environment.CurrentManagedThreadId;
        var shortProbe = new Probe();
        Assert.Equal(4096, ReadAhead.Of(shortProbe.Items(4096)).Count());
        Assert.Equal(new[] { caller }, shortProbe.Threads);

        var longProbe = new Probe();
        Assert.Equal(50_000, ReadAhead.Of(longProbe.Items(50_000)).Count());
        Assert.Contains(caller, longProbe.Threads);
        Assert.Equal(2, longProbe.Threads.Count);
        Assert.Equal(0, longProbe.Overlaps);
    }

    [Theory]
    [InlineData(5, 16)]      // on the caller's thread
    [InlineData(16, 16)]     // the first item the worker makes
    [InlineData(1000, 16)]   // mid-batch, on the worker
    [InlineData(1006, 4)]    // the last item of a batch
    public void Throws_the_sources_exception_after_every_item_made_before_it(int failAt, int synchronous)
    {
        var probe = new Probe();
        var got = new List<int>();
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (int i in ReadAhead.Of(probe.Items(5000, failAt), synchronous, batchSize: 7, batchesAhead: 2)) got.Add(i);
        });
        Assert.Equal($"bad entry {failAt}", e.Message);
        Assert.Equal(Enumerable.Range(0, failAt), got);
        Assert.Contains(nameof(Probe.Items), e.StackTrace); // the source's own stack, not one made up where it was rethrown
        Assert.True(probe.Disposed);
    }

    [Fact]
    public void A_consumer_that_stops_early_stops_the_worker_before_the_source_is_disposed()
    {
        for (int round = 0; round < 50; round++)
        {
            var probe = new Probe();
            int taken = 0;
            foreach (int i in ReadAhead.Of(probe.Items(1_000_000), synchronousItems: 10, batchSize: 8, batchesAhead: 2))
                if (++taken == 200 + round) break;
            Assert.True(probe.Disposed);
            int made = probe.Made;
            Thread.Sleep(round == 0 ? 50 : 0);
            Assert.Equal(made, probe.Made);          // nothing moved it on after the consumer left
            Assert.Equal(0, probe.MovesAfterDispose);
            Assert.Equal(0, probe.Overlaps);
            Assert.True(probe.Made < 200 + round + 10 + 8 * 4, $"the worker ran {probe.Made} items ahead of {taken}: more than its batches allow");
        }
    }

    [Fact]
    public void A_cancelled_wait_throws_OperationCanceledException_and_stops_the_worker()
    {
        using var cancel = new CancellationTokenSource();
        var probe = new Probe();
        var got = new List<int>();
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (int i in ReadAhead.Of(probe.Items(1_000_000, slowFrom: 300), 10, 8, 2, cancel.Token))
            {
                got.Add(i);
                if (i == 250) cancel.Cancel();
            }
        });
        Assert.True(probe.Disposed);
        int made = probe.Made;
        Thread.Sleep(20);
        Assert.Equal(made, probe.Made);
        Assert.Equal(Enumerable.Range(0, got.Count), got);
    }

    [Fact]
    public void Refuses_bad_arguments_when_called()
    {
        Assert.Throws<ArgumentNullException>(() => ReadAhead.Of<int>(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReadAhead.Of(new[] { 1 }, synchronousItems: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReadAhead.Of(new[] { 1 }, batchSize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReadAhead.Of(new[] { 1 }, batchesAhead: 0));
    }
}

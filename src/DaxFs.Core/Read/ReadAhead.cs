using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace DaxFs.Core.Read;

/// <summary>
/// An enumeration that runs ahead of its consumer on a second thread, for long listings whose consumer spends as much per
/// item as the listing does (a PowerShell pipeline): the two then take turns on two cores instead of one. The first items
/// come from the caller's thread, as without it (a short listing never starts a thread); past them, a worker thread moves
/// the same enumerator on, handing over items in batches through a small bounded queue, so at most a few batches are held.
/// Items come out in the source's order; an exception the source throws comes out after every item made before it, with
/// its own type and stack. Disposing the enumeration (the consumer stopping early, or failing) stops the worker and waits
/// for it before the source is disposed, so nothing reads the source's memory (an image's map) once its owner closes it.
/// </summary>
public static class ReadAhead
{
    /// <summary>Items made on the caller's thread before a worker takes over.</summary>
    public const int DefaultSynchronousItems = 4096;

    /// <summary>
    /// <paramref name="source"/>, enumerated on a worker thread from item <paramref name="synchronousItems"/> + 1 on.
    /// The source must allow its enumerator to be moved on by another thread (no thread affinity), one thread at a time.
    /// </summary>
    /// <param name="synchronousItems">Items taken on the caller's thread first (0: the worker starts at once).</param>
    /// <param name="batchSize">Items per hand-over.</param>
    /// <param name="batchesAhead">Batches the worker may have ready before it waits for the consumer.</param>
    /// <param name="cancellationToken">Stops the wait for the next batch (<see cref="OperationCanceledException"/>) and the worker.</param>
    public static IEnumerable<T> Of<T>(IEnumerable<T> source, int synchronousItems = DefaultSynchronousItems, int batchSize = 256,
        int batchesAhead = 4, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(synchronousItems);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchesAhead, 1);
        return Run(source, synchronousItems, batchSize, batchesAhead, cancellationToken);
    }

    private static IEnumerable<T> Run<T>(IEnumerable<T> source, int synchronousItems, int batchSize, int batchesAhead, CancellationToken cancellationToken)
    {
        using var items = source.GetEnumerator();
        for (int i = 0; i < synchronousItems; i++)
        {
            if (!items.MoveNext()) yield break;
            yield return items.Current;
        }
        // Declared after the enumerator, so disposed before it: the worker has stopped when the enumerator is disposed.
        using var worker = new Worker<T>(items, batchSize, batchesAhead, cancellationToken);
        while (worker.Take() is { } batch)
            for (int i = 0; i < batch.Count; i++) yield return batch.Items[i];
        worker.ThrowIfFailed();
    }

    private readonly record struct Batch<T>(T[] Items, int Count);

    private sealed class Worker<T> : IDisposable
    {
        private readonly IEnumerator<T> _items;
        private readonly int _batchSize;
        private readonly BlockingCollection<Batch<T>> _queue;
        private readonly CancellationTokenSource _stop;
        private readonly CancellationToken _consumer;
        private readonly Thread _thread;
        private ExceptionDispatchInfo? _failure;

        public Worker(IEnumerator<T> items, int batchSize, int batchesAhead, CancellationToken cancellationToken)
        {
            _items = items;
            _batchSize = batchSize;
            _queue = new BlockingCollection<Batch<T>>(new ConcurrentQueue<Batch<T>>(), batchesAhead);
            _consumer = cancellationToken;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _thread = new Thread(Produce) { IsBackground = true, Name = "DaxFs read-ahead" };
            _thread.Start();
        }

        private void Produce()
        {
            var token = _stop.Token;
            try
            {
                var batch = new T[_batchSize];
                int count = 0;
                try
                {
                    while (!token.IsCancellationRequested && _items.MoveNext())
                    {
                        batch[count++] = _items.Current;
                        if (count < batch.Length) continue;
                        _queue.Add(new Batch<T>(batch, count), token);
                        batch = new T[_batchSize];
                        count = 0;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    _failure = ExceptionDispatchInfo.Capture(e); // after the items made before it, which follow now
                }
                if (count > 0 && !token.IsCancellationRequested) _queue.Add(new Batch<T>(batch, count), token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { } // the consumer stopped
            finally
            {
                _queue.CompleteAdding();
            }
        }

        /// <summary>The next batch, or null when the worker has finished (see <see cref="ThrowIfFailed"/>).</summary>
        public Batch<T>? Take() => _queue.TryTake(out var batch, Timeout.Infinite, _consumer) ? batch : null;

        public void ThrowIfFailed() => _failure?.Throw();

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
            _stop.Dispose();
            _queue.Dispose();
        }
    }
}

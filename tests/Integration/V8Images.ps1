# Dot-sourced by Invoke-Integration.ps1 on the host (the module is imported): the format-8 images of the v8 boot.
# New-V8Image builds with DaxFs's format-8 writer (the engine's ImageBuilder, which New-DaxFsImage calls); New-V8HostileSet
# makes the hostile format-8 set: structural breaks of the overlay (bucket and pool bounds, entry types, chain, dir-list and
# free-list cycles, key/entry mismatch, page size, magic, version), each naming the gate rule that must refuse it, and
# seeded byte mutants of whole images, small and large.
Set-StrictMode -Version Latest

function New-V8Image {
    param([string] $Source, [string] $Destination, [ValidateSet('Static', 'Split', 'OverlayOnly')] [string] $Mode, [string] $BackingFile,
        [long] $PoolSize = 1MB, [uint32] $Buckets = 1024, [uint32] $Slots = 64)
    $o = @{ Destination = $Destination; Format = [DaxFs.Core.Format.DaxFsFormat]::Format8; Mode = [DaxFs.Core.Format.DaxFsImageMode]$Mode; Overwrite = $true }
    if ($Mode -ne 'OverlayOnly') { $o.SourcePath = $Source }
    if ($Mode -ne 'Static') { $o.OverlayPoolSize = $PoolSize; $o.OverlayBuckets = $Buckets }
    if ($Mode -eq 'Split') { $o.BackingFile = $BackingFile; $o.PageCacheSlots = $Slots }
    $r = [DaxFs.Core.Build.ImageBuilder]::new([DaxFs.Core.Build.ImageBuildOptions]$o).Build()
    [pscustomobject]@{ Path = $Destination; TotalSize = $r.Plan.TotalSize; Length = (Get-Item -LiteralPath $Destination).Length }
}

# Where the overlay's parts are in an image: offsets of the buckets, the pool, the used buckets, entries by kind.
function Get-V8Layout([byte[]] $Bytes) {
    $reader = [DaxFs.Core.Read.DaxFsImageReader]::Open([DaxFs.Core.Read.ByteImageMemory]::new([byte[]]$Bytes.Clone()))
    try {
        $view = [DaxFs.Core.Overlay.OverlayView]::Open($reader)
        $sb = $reader.Superblock8
        $ov = $sb.OverlayOffset
        $buckets = $ov + $view.Header.BucketOffset
        $used = [Collections.Generic.List[uint64]]::new()
        for ($i = 0; $i -lt $sb.OverlayBucketCount; $i++) {
            if (([BitConverter]::ToUInt64($Bytes, [int]($buckets + 16 * $i)) -band 1) -ne 0) { $used.Add($buckets + 16 * $i) }
        }
        # An inode entry and a dirent of the root, through the view's index and dir list.
        $inode = $null
        foreach ($k in $view.Keys.Keys) { if (($k -band [DaxFs.Core.Format.V8.OverlayKeys]::SuffixMask) -eq [DaxFs.Core.Format.V8.OverlayKeys]::InodeSuffix) { $inode = $view.Keys[$k]; $inodeKey = $k; break } }
        $dirent = @($view.DirList(1))[0]
        [pscustomobject]@{
            Overlay = [uint64]$ov; Buckets = [uint64]$buckets; Pool = [uint64]$view.PoolStart; Alloc = [uint64]$view.Header.PoolAlloc; Count = [uint32]$sb.OverlayBucketCount
            Used = $used.ToArray(); InodeEntry = [uint64]$inode; InodeKey = [uint64]$inodeKey; Dirent = $(if ($dirent) { [uint64]$dirent.Item2 } else { $null })
        }
    }
    finally { $reader.Dispose() }
}

function Set-U64([byte[]] $B, [uint64] $At, [uint64] $Value) { [BitConverter]::GetBytes($Value).CopyTo($B, [int]$At) }
function Set-U32([byte[]] $B, [uint64] $At, [uint32] $Value) { [BitConverter]::GetBytes($Value).CopyTo($B, [int]$At) }

# One structural break per rule of an image with an overlay. Returns cases: Name, Kind 'structural', Expect (the rule id),
# Bytes. $Prefix names the source image.
function New-V8StructuralBreaks([byte[]] $Pristine, [string] $Prefix) {
    $l = Get-V8Layout $Pristine
    $sbo = [DaxFs.Core.Format.V8.SuperblockV8+Offsets]
    $oho = [DaxFs.Core.Format.V8.OverlayHeader+Offsets]
    $R = [DaxFs.Core.Format.RuleIds]
    $breaks = [ordered]@{
        'page-size-16k' = { param($b) Set-U32 $b $sbo::BlockSize 16384 }, $R::V8PageSize
        'overlay-size-huge' = { param($b) Set-U64 $b $sbo::OverlaySize ([uint64]1 -shl 40) }, $R::OverlayBounds
        'bucket-count-not-power-of-two' = { param($b) Set-U32 $b $sbo::OverlayBucketCount 1000 }, $R::OverlayBucketCount
        'overlay-magic' = { param($b) Set-U32 $b $l.Overlay 0x12345678 }, $R::OverlayMagic
        'overlay-version' = { param($b) Set-U32 $b ($l.Overlay + 4) 1 }, $R::OverlayVersion
        'pool-offset-past-end' = { param($b) Set-U64 $b ($l.Overlay + $oho::PoolOffset) ([uint64]1 -shl 50) }, $R::OverlayLayout
        'pool-alloc-past-pool' = { param($b) Set-U64 $b ($l.Overlay + $oho::PoolAlloc) ([uint64]1 -shl 40) }, $R::OverlayLayout
        'bucket-value-past-pool' = { param($b) Set-U64 $b ($l.Used[0] + 8) ([uint64]1 -shl 40) }, $R::OverlayBucketValue
        'bucket-value-unaligned-end' = { param($b) Set-U64 $b ($l.Used[-1] + 8) ($l.Alloc - 4) }, $R::OverlayBucketValue
        'entry-type-7' = { param($b) Set-U32 $b ($l.Pool + $l.InodeEntry) 7 }, $R::OverlayEntryType
        'key-moved-past-empty-bucket' = {
            param($b)
            # A used bucket moved to an unused one far away: its key's probe stops before it.
            $from = $l.Used[0]
            $to = $null
            for ($i = $l.Count - 1; $i -ge 0; $i--) { $at = $l.Buckets + 16 * $i; if ($at -notin $l.Used -and $at -ne $from) { $to = $at; break } }
            [Array]::Copy($b, [int]$from, $b, [int]$to, 16); [Array]::Clear($b, [int]$from, 16)
        }, $R::OverlayKeyMismatch
        'dirent-chain-cycle' = { param($b) Set-U64 $b ($l.Pool + $l.Dirent + 32) $l.Dirent }, $R::OverlayChainCycle
        'dirlist-cycle' = { param($b) Set-U64 $b ($l.Pool + $l.Dirent + 40) $l.Dirent }, $R::OverlayDirListCycle
        'dirent-name-slash' = { param($b) $b[[int]($l.Pool + $l.Dirent + 48)] = [byte][char]'/' }, $R::OverlayDirentName
        'free-list-cycle' = {
            param($b)
            $at = ($l.Alloc - 64) -band (-bnot [uint64]7)
            Set-U64 $b ($l.Overlay + $oho::FreeData) $at; Set-U64 $b ($l.Pool + $at) $at
        }, $R::OverlayFreeList
        'free-list-past-pool' = { param($b) Set-U64 $b ($l.Overlay + $oho::FreeInode) ([uint64]1 -shl 40) }, $R::OverlayFreeList
        'next-ino-below-used' = { param($b) Set-U64 $b ($l.Overlay + $oho::NextIno) 1 }, $R::OverlayNextIno
    }
    foreach ($name in $breaks.Keys) {
        $b = [byte[]]$Pristine.Clone()
        & $breaks[$name][0] $b
        [pscustomobject]@{ Name = "$Prefix-$name"; Kind = 'structural'; Expect = $breaks[$name][1]; Bytes = $b }
    }
}

# Seeded byte mutants: 1-4 edits each in the superblock, the overlay header, used buckets, the used pool, a planted pool
# offset (a bucket value, a dirent's next or dir_next, a free-list head: cycles), or anywhere in the image.
function New-V8Mutants([byte[]] $Pristine, [string] $Prefix, [int] $Seed, [int] $Count) {
    $l = Get-V8Layout $Pristine
    $rng = [Random]::new($Seed)
    $alloc = [int][math]::Max(8, $l.Alloc)
    for ($n = 0; $n -lt $Count; $n++) {
        $b = [byte[]]$Pristine.Clone()
        $edits = 1 + $rng.Next(4)
        for ($e = 0; $e -lt $edits; $e++) {
            switch ($rng.Next(7)) {
                0 { $b[$rng.Next(112)] = [byte]$rng.Next(256) }
                1 { $b[[int]$l.Overlay + $rng.Next(72)] = [byte]$rng.Next(256) }
                2 { $b[[int]$l.Used[$rng.Next($l.Used.Count)] + $rng.Next(16)] = [byte]$rng.Next(256) }
                3 { $b[[int]$l.Pool + $rng.Next($alloc)] = [byte]$rng.Next(256) }
                4 {
                    $target = [uint64]($rng.Next($alloc) -band (-bnot 7))
                    $field = $rng.Next(3)
                    $at = if ($field -eq 0) { $l.Used[$rng.Next($l.Used.Count)] + 8 }
                    elseif ($field -eq 1) { $l.Pool + [uint64]($rng.Next($alloc) -band (-bnot 7)) + 32 }
                    else { $l.Overlay + [uint64](48 + 8 * $rng.Next(3)) }
                    if ($at + 8 -le $b.Length) { Set-U64 $b $at $target }
                }
                5 { $b[$rng.Next($b.Length)] = [byte]$rng.Next(256) }
                default { $i = [int]$l.Overlay + [int]($alloc / 2) + $rng.Next(4096); if ($i -lt $b.Length) { $b[$i] = $b[$i] -bxor 0xFF } }
            }
        }
        [pscustomobject]@{ Name = '{0}-mutant-{1:000}' -f $Prefix, $n; Kind = 'mutant'; Expect = ''; Bytes = $b }
    }
}

# The kernel's view and the offline view of a format-8 image, as lines to compare (V8.Tests.ps1, and HostsV8.Tests.ps1
# with HostsV8.Host.ps1 for two kernels on one memory file).
# The kernel's view of a mount: type|mode|uid|gid|size|nlink|target|path lines, then sha256 lines (as the vectors'
# kernel-view.txt), from TreeListing (lstat and a read of every file through the kernel). Exact: names escaped as
# TreeListing does (every byte kept apart); Display: names as the cmdlets show them (ill-formed UTF-8 as U+FFFD).
function Get-KernelView([string] $MountPoint) {
    $entries = [DaxFs.TreeTools.TreeListing]::List($MountPoint) | Where-Object Path -ne '/'
    $n = [DaxFs.TreeTools.Names]
    $view = @{}
    foreach ($form in 'Exact', 'Display') {
        $name = if ($form -eq 'Exact') { { param($s) $s } } else { { param($s) $n::Display($s) } }
        $lines = foreach ($e in $entries) {
            $t = switch ($e.Type) { 'dir' { 'd' } 'symlink' { 'l' } default { 'f' } }
            '{0}|{1}|{2}|{3}|{4}|{5}|{6}|{7}' -f $t, [Convert]::ToString($e.Mode, 8), $e.Uid, $e.Gid, $e.Size, $e.Nlink, $(if ($e.Target) { & $name $e.Target }), (& $name $e.Path)
        }
        $sums = foreach ($e in $entries | Where-Object Type -eq 'file') { 'sha256|{0}|{1}' -f $e.Sha256, (& $name $e.Path) }
        $view[$form] = Format-View $lines $(if ($form -eq 'Exact') { @() } else { $sums })
    }
    [pscustomobject]$view
}

# The same lines made offline by the cmdlets: Get-DaxFsItem and Get-DaxFsContent on the image behind the mount (read
# from memory), names as they show them.
function Get-OfflineView([string] $Image, [string] $BackingFile) {
    $extra = @{}
    if ($BackingFile) { $extra.BackingFile = $BackingFile }
    $items = @(Get-DaxFsItem $Image -Recurse @extra)
    $lines = foreach ($i in $items) {
        $t = switch ($i.Type) { 'Directory' { 'd' } 'SymbolicLink' { 'l' } default { 'f' } }
        '{0}|{1}|{2}|{3}|{4}|{5}|{6}|{7}' -f $t, [Convert]::ToString($i.UnixMode -band 0xFFF, 8), $i.Uid, $i.Gid, $i.Size, $i.LinkCount, $i.Target, $i.FullName
    }
    # One Get-DaxFsContent for all files (one reader of the memory): -AsByteStream writes one byte array per file, in order.
    $files = @($items | Where-Object Type -eq 'File')
    $k = 0
    $sums = $files | Get-DaxFsContent -AsByteStream @extra | ForEach-Object {
        'sha256|{0}|{1}' -f [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([byte[]]$_)).ToLowerInvariant(), $files[$k++].FullName
    }
    if ($k -ne $files.Count) { throw "Get-DaxFsContent gave $k contents for $($files.Count) files." }
    Format-View $lines $sums
}

function Format-View($Lines, $Sums) {
    [string[]] $l = @($Lines | Where-Object { $_ }); [string[]] $s = @($Sums | Where-Object { $_ })
    [Array]::Sort($l, [StringComparer]::Ordinal); [Array]::Sort($s, [StringComparer]::Ordinal)
    @($l) + @($s)
}

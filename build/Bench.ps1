<#
.SYNOPSIS
    Speed and memory benchmarks for the writer and the reader, measured side by side in one run (not tests).
.DESCRIPTION
    Every engine measure runs the staged module's DaxFs.Core.dll (compiled ahead for this .NET by build.ps1).
    Builds a deterministic tree (default 41,000 entries, 320 MB: directories, files of mixed sizes, symlinks,
    hard links) and a twin with the same entries and 4x the bytes under out/bench, warms the page cache, then
    times, side by side: after one warm-up run of each, -Runs rounds run every contender once in turn (so a burst of
    load elsewhere on the machine hits all of them alike); each is reported as its median, its best and the spread
    (worst / best) of its runs:
      - New-DaxFsImage from an uncompressed tarball against tar2sqfs (its fastest compressor, lz4; its image synced as
        New-DaxFsImage's is), from an OCI layout
        against umoci unpack + New-DaxFsImage, from a gzip tarball against gzip -dc (umoci and squashfs-tools-ng are
        installed with apt-get when missing and running as root), and peak memory for the tarball and its 4x twin;
      - New-DaxFsImage's engine (a fresh process) against the read floor `tar -cf - TREE | cat > /dev/null`,
        its format-8 build of the same tree (static, within 10% of format 5's),
        `mkfs.erofs` (uncompressed) and `mksquashfs -noI -noD -noF -noX`;
      - peak resident memory of the build, for the tree and for the 4x twin (it must not grow with file bytes);
      - Get-DaxFsItem -Recurse over the image against Get-ChildItem -Recurse -Force over the tree;
      - the engine's enumeration rate (entries/s) and reading every file through the reader against from the tree;
      - Compare-DaxFsImage of the image with a copy of itself and with its tree (every file hashed with SHA-256 on both
        sides, in parallel, the image's straight from its memory map) against `sha256sum -c` of a manifest of the tree
        (one side only, one thread);
      - validation (Test-DaxFsImage's engine) against `fsck.erofs` (its metadata walk) and `fsck.erofs --extract`
        (which also decodes every file) on an EROFS image of the same tree: both as fresh processes (cold start: .NET's
        start and the JIT count for the validator, and an empty .NET process is timed beside them), and the validator's
        first and warm call in a running process (what a session's first and later Test-DaxFsImage pay) with the JIT's
        share; CPU time (user + sys) of the fresh processes; entries/s and MB/s of image, and peak memory (the validator's anonymous memory, for the tree and the 4x-bytes twin: it must not
        grow with file bytes; fsck.erofs's peak RSS); then the same on a tree of
        -LargeEntries (default 1,000,000) empty files in directories of 100, built into both formats.
    Format 8 beside format 5 (-Format8Only runs only this part; -OverlayOnly only its overlay rows): the engine's listing (10 walks) and validation of the
    tree's format-8 image against its format-5 image, Get-DaxFsItem -Recurse of both (each within 10%); then a split
    format-8 image of the tree given 100,000 overlay entries written as the kernel writes them through a mount
    (KernelOverlayWriter), listed through the offline overlay view against its base alone (under 2x), wall and CPU time
    of the engine's walk, the same pair in one warm process with the time split (opening the view; the overlay's lists
    followed link by link, a floor for any listing in the kernel's readdir order), and Get-DaxFsItem -Recurse of both
    images (what an operator runs).
    Builds from a tarball and an OCI layout (-ArchiveOnly runs only these rows, without the 4x twin's): the tarball
    against tar2sqfs, the OCI layout against umoci unpack + New-DaxFsImage, the gzip tarball against gzip -dc.
    erofs-utils (mkfs.erofs, fsck.erofs), squashfs-tools and GNU time (fsck.erofs's peak RSS) are installed with apt-get
    when missing and running as root.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $WorkPath = (Join-Path $PSScriptRoot '../out/bench'),
    [int] $Entries = 41000,
    [long] $Bytes = 320MB,
    [int] $Runs = 7,
    # The validation benchmark's large image: this many entries (0 skips it), timed over -LargeRuns rounds.
    [int] $LargeEntries = 1000000,
    [int] $LargeRuns = 3,
    # Only the format-8 measures (listing and validation beside format 5, the 100,000-entry overlay): a quick run.
    [switch] $Format8Only,
    # Only the builds from a tarball and an OCI layout against tar2sqfs, umoci and gzip -dc (no 4x twin): a quick run.
    [switch] $ArchiveOnly,
    # Only the 100,000-entry overlay against its base (implies -Format8Only): for iterating on the overlay view.
    [switch] $OverlayOnly
)
if (($Format8Only -or $OverlayOnly) -and $ArchiveOnly) { throw 'Give -Format8Only (or -OverlayOnly) or -ArchiveOnly, not both.' }
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if ($OverlayOnly) { $Format8Only = $true }
$root = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
New-Item -ItemType Directory -Force $WorkPath | Out-Null
$WorkPath = (Resolve-Path $WorkPath).Path

function Test-Tool([string] $Name) { [bool](Get-Command $Name -CommandType Application -ErrorAction Ignore) }
if (-not (Test-Tool mkfs.erofs) -or -not (Test-Tool fsck.erofs) -or -not (Test-Tool mksquashfs) -or -not (Test-Tool tar2sqfs) -or -not (Test-Tool umoci) -or -not (Test-Path /usr/bin/time)) {
    if ((id -u) -eq '0' -and (Test-Tool apt-get)) {
        Write-Host 'Installing erofs-utils, squashfs-tools and time for the comparison...'
        $env:DEBIAN_FRONTEND = 'noninteractive'
        apt-get install -y -qq erofs-utils squashfs-tools squashfs-tools-ng umoci time 2>&1 | Out-Null
        if ($LASTEXITCODE -ne 0) { apt-get update -qq 2>&1 | Out-Null; apt-get install -y -qq erofs-utils squashfs-tools squashfs-tools-ng umoci time 2>&1 | Out-Null }
    }
}

Write-Host 'Building the benchmark harness...'
$bin = Join-Path $WorkPath 'bin'
dotnet build (Join-Path $root 'bench/DaxFs.Bench/DaxFs.Bench.csproj') -c Release -o $bin --nologo -v q -clp:ErrorsOnly | Out-Host
if ($LASTEXITCODE -ne 0) { throw 'The benchmark harness did not build.' }
# The engine as staged (build.ps1: compiled ahead, ReadyToRun, for this .NET), not the harness's own IL build: what
# Test-DaxFsImage and New-DaxFsImage run.
Copy-Item -LiteralPath (Join-Path (Split-Path -Parent (Resolve-Path $ModulePath).Path) 'DaxFs.Core.dll') -Destination $bin -Force
$harness = Join-Path $bin 'DaxFs.Bench.dll'

function Invoke-Harness([string[]] $Arguments) {
    $out = & dotnet $harness @Arguments
    if ($LASTEXITCODE -ne 0) { throw "DaxFs.Bench $($Arguments -join ' ') failed ($LASTEXITCODE)." }
    $out | Select-Object -Last 1 | ConvertFrom-Json
}

function Get-Tree([string] $Name, [long] $TreeBytes) {
    $path = Join-Path $WorkPath $Name
    $stamp = "$path.stamp"
    $want = "$Entries $TreeBytes 1 v2"
    if ((Test-Path $stamp) -and (Get-Content $stamp) -eq $want) { return $path }
    if (Test-Path $path) { Remove-Item -Recurse -Force $path }
    Write-Host "Making $Name ($Entries entries, $([math]::Round($TreeBytes / 1MB)) MB)..."
    $r = Invoke-Harness @('make-tree', $path, $Entries, $TreeBytes, 1)
    Write-Host "  $($r.entries) entries, $([math]::Round($r.bytes / 1MB)) MB of file data"
    Set-Content $stamp $want
    $path
}

# Wall times of several commands, side by side: one warm-up run of each, then $Runs rounds that run each once in
# turn. $Contenders is an ordered dictionary name -> @(block, before-block or $null); returns name -> Median, Best, Spread.
# Every run starts on a collected heap, so no in-process contender pays for the garbage the one before it left.
function Measure-Interleaved([Collections.Specialized.OrderedDictionary] $Contenders, [int] $Rounds = $Runs) {
    $times = @{}
    foreach ($name in $Contenders.Keys) {
        $times[$name] = [Collections.Generic.List[double]]::new()
        $block, $before = $Contenders[$name]
        if ($before) { & $before }
        & $block | Out-Null
    }
    foreach ($i in 1..$Rounds) {
        foreach ($name in $Contenders.Keys) {
            $block, $before = $Contenders[$name]
            if ($before) { & $before }
            [GC]::Collect(); [GC]::WaitForPendingFinalizers()
            $sw = [Diagnostics.Stopwatch]::StartNew()
            & $block | Out-Null
            $times[$name].Add($sw.Elapsed.TotalSeconds)
        }
    }
    $result = @{}
    foreach ($name in $Contenders.Keys) {
        $t = @($times[$name] | Sort-Object)
        $result[$name] = [pscustomobject]@{ Median = $t[[int][math]::Floor($Rounds / 2)]; Best = $t[0]; Spread = $t[-1] / [math]::Max($t[0], 1e-9) }
    }
    $result
}

$tree = Get-Tree 'tree' $Bytes
$tree4 = if (-not $Format8Only -and -not $ArchiveOnly) { Get-Tree 'tree4x' ($Bytes * 4) }
$img = Join-Path $WorkPath 'tree.daxfs'
$rows = [Collections.Generic.List[object]]::new()
function Add-Row([string] $What, $Value, [string] $Unit, [string] $Goal, [string] $Verdict, $Best = '', $Spread = '') {
    $rows.Add([pscustomobject]@{ Measure = $What; Value = $Value; Best = $Best; Spread = $Spread; Unit = $Unit; Goal = $Goal; Met = $Verdict })
}
function Add-Timing([string] $What, $m) { Add-Row $What ([math]::Round($m.Median, 3)) 's' '' '' ([math]::Round($m.Best, 3)) ([math]::Round($m.Spread, 2)) }
# A ratio of two timings: of the medians (Value, which the verdict uses) and of the bests.
function Add-Ratio([string] $What, $slow, $fast, [string] $Goal, [scriptblock] $Met) {
    $r = $slow.Median / $fast.Median
    Add-Row $What ([math]::Round($r, 2)) 'x' $Goal ($(if (& $Met $r) { 'yes' } else { 'no' })) ([math]::Round($slow.Best / $fast.Best, 2))
}

if (-not $Format8Only) {
if (-not $ArchiveOnly) {
Write-Host 'Timing the writer against tar, mkfs.erofs and mksquashfs, interleaved...'
$erofsImage = Join-Path $WorkPath 'tree.erofs'
$img8 = Join-Path $WorkPath 'tree.v8.daxfs'
$squashImage = Join-Path $WorkPath 'tree.sqfs'
$contenders = [ordered]@{
    tar   = @({ bash -c "tar -cf - -C '$tree' . | cat > /dev/null" }, $null)
    daxfs = @({ Invoke-Harness @('build', $tree, $img) }, { Remove-Item -Force -ErrorAction Ignore $img })
    daxfs8 = @({ Invoke-Harness @('build', $tree, $img8, 'static8') }, { Remove-Item -Force -ErrorAction Ignore $img8 })
}
if (Test-Tool mkfs.erofs) { $contenders.erofs = @({ mkfs.erofs --quiet $erofsImage $tree 2>&1 }, { Remove-Item -Force -ErrorAction Ignore $erofsImage }) }
if (Test-Tool mksquashfs) { $contenders.squash = @({ mksquashfs $tree $squashImage -noI -noD -noF -noX -quiet -no-progress -noappend 2>&1 }, { Remove-Item -Force -ErrorAction Ignore $squashImage }) }
$w = Measure-Interleaved $contenders
Add-Timing 'tar -cf - TREE | cat > /dev/null (read floor)' $w.tar
Add-Timing 'New-DaxFsImage engine (fresh process)' $w.daxfs
Add-Ratio '  vs read floor' $w.daxfs $w.tar '<= 2x' { param($r) $r -le 2 }
Add-Timing 'New-DaxFsImage -Format 8 engine (fresh process)' $w.daxfs8
Add-Ratio '  format 8 vs format 5 build' $w.daxfs8 $w.daxfs '<= 1.1x' { param($r) $r -le 1.1 }
if ($w.erofs) { Add-Timing 'mkfs.erofs (uncompressed)' $w.erofs; Add-Ratio '  New-DaxFsImage speed-up over mkfs.erofs' $w.erofs $w.daxfs '> 1x' { param($r) $r -gt 1 } }
else { Add-Row 'mkfs.erofs' 'not installed' '' '' '' }
if ($w.squash) { Add-Timing 'mksquashfs -noI -noD -noF -noX' $w.squash; Add-Ratio '  New-DaxFsImage speed-up over mksquashfs' $w.squash $w.daxfs '> 1x' { param($r) $r -gt 1 } }
else { Add-Row 'mksquashfs' 'not installed' '' '' '' }

Write-Host 'Peak memory of the build...'
$m1 = Invoke-Harness @('build', $tree, $img)
$img4 = Join-Path $WorkPath 'tree4x.daxfs'
$m4 = Invoke-Harness @('build', $tree4, $img4)
Add-Row 'peak RSS, build of tree' ([math]::Round($m1.peakRssBytes / 1MB, 1)) 'MiB' '< 150' ($(if ($m1.peakRssBytes -lt 150MB) { 'yes' } else { 'no' }))
Add-Row 'peak RSS, build of 4x-bytes tree' ([math]::Round($m4.peakRssBytes / 1MB, 1)) 'MiB' '< 150, flat' ($(if ($m4.peakRssBytes -lt 150MB -and $m4.peakRssBytes -lt $m1.peakRssBytes * 1.25) { 'yes' } else { 'no' }))
Add-Row '  engine time, 4x tree / tree' ([math]::Round($m4.seconds / $m1.seconds, 2)) 'x' '' ''
} # not -ArchiveOnly

# Container images and tarballs (issue 19), the same content as the tree: an uncompressed tarball against tar2sqfs
# (squashfs-tools-ng; it has no switch to turn compression off, so its fastest compressor, lz4), an OCI layout (one
# gzip layer) against umoci unpack followed by New-DaxFsImage of the unpacked tree, and a gzip tarball against
# gzip -dc of the same file to /dev/null (decompression is the floor; the build decompresses twice: headers, then data).
# The same durability on both sides: New-DaxFsImage fsyncs the image it renames into place, so tar2sqfs's image is
# synced too (sync FILE, inside its timing); and every contender starts with nothing dirty in the page cache (a sync
# before it, untimed), as an fsync on ext4 also waits for the writeback of what the contender before it wrote
# (umoci's unpacked tree): that had made the build from a tarball look several times slower than it is alone. Every
# contender also starts without its output of the run before (removed untimed, as tar2sqfs's always was), so none pays
# for freeing the last run's 400 MB file inside its timing.
Write-Host 'Timing builds from a tarball and an OCI layout, interleaved...'
$tarball = Join-Path $WorkPath 'tree.tar'
$tgz = "$tarball.gz"
$layout = Join-Path $WorkPath 'tree-oci'
if (-not (Test-Path $tgz) -or (Get-Item $tgz).LastWriteTimeUtc -lt (Get-Item "$tree.stamp").LastWriteTimeUtc) {
    tar --sort=name -C $tree -cf $tarball .
    gzip -1 -kf $tarball
    if (Test-Path $layout) { Remove-Item -Recurse -Force $layout }
    New-Item -ItemType Directory "$layout/blobs/sha256" -Force | Out-Null
    function Add-Blob([string] $From, [string] $Media) {
        $hex = (Get-FileHash -LiteralPath $From -Algorithm SHA256).Hash.ToLowerInvariant()
        Copy-Item -LiteralPath $From "$layout/blobs/sha256/$hex"
        @{ mediaType = $Media; digest = "sha256:$hex"; size = (Get-Item $From).Length }
    }
    $layerDesc = Add-Blob $tgz 'application/vnd.oci.image.layer.v1.tar+gzip'
    $diff = "sha256:$((Get-FileHash -LiteralPath $tarball -Algorithm SHA256).Hash.ToLowerInvariant())"
    $tmp = Join-Path $WorkPath 'blob.json'
    Set-Content $tmp (@{ os = 'linux'; architecture = 'amd64'; rootfs = @{ type = 'layers'; diff_ids = @($diff) } } | ConvertTo-Json -Depth 5 -Compress) -NoNewline
    $config = Add-Blob $tmp 'application/vnd.oci.image.config.v1+json'
    Set-Content $tmp (@{ schemaVersion = 2; mediaType = 'application/vnd.oci.image.manifest.v1+json'; config = $config; layers = @($layerDesc) } | ConvertTo-Json -Depth 5 -Compress) -NoNewline
    $manifest = Add-Blob $tmp 'application/vnd.oci.image.manifest.v1+json'
    $manifest.annotations = @{ 'org.opencontainers.image.ref.name' = 'bench' }
    Set-Content "$layout/oci-layout" '{"imageLayoutVersion":"1.0.0"}'
    Set-Content "$layout/index.json" (@{ schemaVersion = 2; manifests = @($manifest) } | ConvertTo-Json -Depth 5)
    Remove-Item $tmp
}
$archImg = Join-Path $WorkPath 'archive.daxfs'
$bundle = Join-Path $WorkPath 'umoci-bundle'
$sqfs = Join-Path $WorkPath 'tar2sqfs.sqfs'
$a = [ordered]@{
    fromTar = @({ Invoke-Harness @('build-archive', $tarball, $archImg, 'Tar') }, { Remove-Item -Force -ErrorAction Ignore $archImg; sync })
    fromTgz = @({ Invoke-Harness @('build-archive', $tgz, $archImg, 'Tar') }, { Remove-Item -Force -ErrorAction Ignore $archImg; sync })
    gunzip  = @({ bash -c "gzip -dc '$tgz' > /dev/null" }, { sync })
    fromOci = @({ Invoke-Harness @('build-archive', $layout, $archImg, 'OciLayout', 'bench') }, { Remove-Item -Force -ErrorAction Ignore $archImg; sync })
}
if (Test-Tool tar2sqfs) { $a.tar2sqfs = @({ bash -c "tar2sqfs -q -f -c lz4 -j $([Environment]::ProcessorCount) '$sqfs' < '$tarball' > /dev/null && sync '$sqfs'" }, { Remove-Item -Force -ErrorAction Ignore $sqfs; sync }) }
if (Test-Tool umoci) {
    $a.umoci = @({ umoci unpack --image "${layout}:bench" $bundle 2>&1 | Out-Null; Invoke-Harness @('build', "$bundle/rootfs", $archImg) }, { if (Test-Path $bundle) { Remove-Item -Recurse -Force $bundle }; Remove-Item -Force -ErrorAction Ignore $archImg; sync })
}
$t = Measure-Interleaved $a
Add-Timing 'New-DaxFsImage from an uncompressed tarball (fresh process)' $t.fromTar
if ($t.Contains('tar2sqfs')) { Add-Timing 'tar2sqfs -c lz4 + sync of its image (no off switch: its fastest compressor)' $t.tar2sqfs; Add-Ratio '  speed-up over tar2sqfs' $t.tar2sqfs $t.fromTar '> 1x' { param($x) $x -gt 1 } }
else { Add-Row 'tar2sqfs' 'not installed (squashfs-tools-ng)' '' '' '' }
Add-Timing 'New-DaxFsImage from an OCI layout, one gzip layer (fresh process)' $t.fromOci
if ($t.Contains('umoci')) { Add-Timing 'umoci unpack + New-DaxFsImage of the tree' $t.umoci; Add-Ratio '  speed-up over umoci unpack + New-DaxFsImage' $t.umoci $t.fromOci '>= 2x' { param($x) $x -ge 2 } }
else { Add-Row 'umoci' 'not installed' '' '' '' }
Add-Timing 'New-DaxFsImage from a gzip tarball (fresh process)' $t.fromTgz
Add-Timing 'gzip -dc TARBALL > /dev/null (decompression floor)' $t.gunzip
Add-Ratio '  vs the decompression floor' $t.fromTgz $t.gunzip '<= 1.3x' { param($x) $x -le 1.3 }
$ma = Invoke-Harness @('build-archive', $tarball, $archImg, 'Tar')
Add-Row 'peak RSS, build from the tarball' ([math]::Round($ma.peakRssBytes / 1MB, 1)) 'MiB' '< 150' ($(if ($ma.peakRssBytes -lt 150MB) { 'yes' } else { 'no' }))
if (-not $ArchiveOnly) {
$tarball4 = Join-Path $WorkPath 'tree4x.tar'
tar --sort=name -C $tree4 -cf $tarball4 .
$ma4 = Invoke-Harness @('build-archive', $tarball4, $archImg, 'Tar')
Add-Row 'peak RSS, build from the 4x-bytes tarball' ([math]::Round($ma4.peakRssBytes / 1MB, 1)) 'MiB' 'flat' ($(if ($ma4.peakRssBytes -lt $ma.peakRssBytes * 1.25) { 'yes' } else { 'no' }))
$same = (Get-FileHash $archImg).Hash -eq (Get-FileHash $img4).Hash
Add-Row 'image from the 4x tarball = image of the 4x tree' ($(if ($same) { 'same bytes' } else { 'differs' })) '' 'same bytes' ($(if ($same) { 'yes' } else { 'no' }))
Remove-Item -Force -ErrorAction Ignore $tarball4
} # not -ArchiveOnly
Remove-Item -Force -ErrorAction Ignore $archImg, $sqfs
if (Test-Path $bundle) { Remove-Item -Recurse -Force $bundle }

if (-not $ArchiveOnly) {

# Validation against fsck.erofs, side by side. What is compared, each over an image of the same tree:
#   - cold start: a fresh harness process that maps the image and validates it, nothing else (.NET's start, the JIT of
#     the validator and the validation, as an operator pays them in a new process) against a fresh fsck.erofs process;
#     an empty harness process is timed with them, so the table shows what .NET's start alone costs;
#   - in a running process (validate-profile, not timed from outside): the first validation (the validator compiled as
#     it runs: a session's first Test-DaxFsImage), the JIT's share of it, and the same validation again (warm: every
#     later Test-DaxFsImage and Mount-DaxFs gate), against the same fresh fsck.erofs process;
#   - CPU time (user + sys) of the fresh processes, which load elsewhere on the machine does not inflate.
# Throughput counts the tree's entries and each image's own bytes; the validator's memory is its anonymous memory (the
# mapped image's pages are the file), fsck.erofs's its peak RSS.
function Get-CpuSeconds([string[]] $Command, [int] $Rounds) {
    $t = @(foreach ($i in 1..$Rounds) {
            $o = & /usr/bin/time -f 'cpu %U %S' @Command 2>&1 | Where-Object { "$_" -like 'cpu *' } | Select-Object -Last 1
            $f = "$o" -split ' '
            [double]$f[1] + [double]$f[2]
        }) | Sort-Object
    $t[[int][math]::Floor($Rounds / 2)]
}
function Measure-Validation([string] $Label, [string] $Image, [string] $Erofs, [int] $Rounds) {
    $contenders = [ordered]@{ validate = @({ Invoke-Harness @('validate', $Image) }, $null); start = @({ Invoke-Harness @('start') }, $null) }
    if ($Erofs) {
        $contenders.fsck = @({ $o = fsck.erofs $Erofs 2>&1; if ($LASTEXITCODE -ne 0) { throw "fsck.erofs $Erofs failed: $o" } }, $null)
        $contenders.fsckx = @({ $o = fsck.erofs --extract $Erofs 2>&1; if ($LASTEXITCODE -ne 0) { throw "fsck.erofs --extract $Erofs failed: $o" } }, $null)
    }
    $t = Measure-Interleaved $contenders $Rounds
    $runs = @(foreach ($i in 1..$Rounds) { Invoke-Harness @('validate-profile', $Image) })
    $v = $runs[-1]
    function Median($values) { $x = @($values | Sort-Object); $x[[int][math]::Floor($x.Count / 2)] }
    $first = Median $runs.firstSeconds; $warm = Median $runs.seconds
    $mb = (Get-Item $Image).Length / 1e6
    Add-Timing "Test-DaxFsImage engine, $Label ($($v.entries) entries, $([math]::Round($mb)) MB image; fresh process: .NET start, JIT, validation)" $t.validate
    Add-Row '  validation rate (fresh process)' ([math]::Round($v.entries / $t.validate.Median / 1e6, 2)) 'M entries/s' '' ''
    Add-Row '  validation rate (fresh process)' ([math]::Round($mb / $t.validate.Median)) 'MB/s' '' ''
    Add-Timing '  of that: an empty .NET process (the harness started, nothing done)' $t.start
    Add-Row '  validation, first call in a running process (a session''s first Test-DaxFsImage)' ([math]::Round($first, 3)) 's' '' ''
    Add-Row '    of that: the JIT compiling the validator' ([math]::Round((Median $runs.jitSeconds), 3)) 's' '' ''
    Add-Row '    methods the JIT compiled for it' (Median $runs.jitMethods) 'methods' '' ''
    Add-Row '  validation, warm (again in the process: later Test-DaxFsImage, the Mount-DaxFs gate)' ([math]::Round($warm, 3)) 's' '' ''
    Add-Row '  validation rate (warm)' ([math]::Round($v.entries / $warm / 1e6, 2)) 'M entries/s' '' ''
    Add-Row '  validation rate (warm)' ([math]::Round($mb / $warm)) 'MB/s' '' ''
    Add-Row '  CPU of the first / the warm validation' "$([math]::Round((Median $runs.firstCpuSeconds), 3)) / $([math]::Round((Median $runs.warmCpuSeconds), 3))" 's' '' ''
    $cpu = Get-CpuSeconds @('dotnet', $harness, 'validate', $Image) $Rounds
    Add-Row '  CPU time (user + sys), fresh process' ([math]::Round($cpu, 3)) 's' '' ''
    Add-Row '  validator peak anonymous memory' ([math]::Round($v.peakAnonBytes / 1MB, 1)) 'MiB' '' ''
    Add-Row '  validator peak RSS (with the mapped image)' ([math]::Round($v.peakRssBytes / 1MB, 1)) 'MiB' '' ''
    if ($Erofs) {
        $emb = (Get-Item $Erofs).Length / 1e6
        foreach ($k in 'fsck', 'fsckx') {
            $argv = @(if ($k -eq 'fsckx') { '--extract' }) + $Erofs
            $rss = [long]"$((& /usr/bin/time -f '%M' fsck.erofs @argv 2>&1) | Select-Object -Last 1)" * 1024
            $name = if ($k -eq 'fsckx') { 'fsck.erofs --extract' } else { 'fsck.erofs' }
            Add-Timing "$name, $Label ($([math]::Round($emb)) MB image; fresh process)" $t[$k]
            Add-Row "  $name rate" ([math]::Round($v.entries / $t[$k].Median / 1e6, 2)) 'M entries/s' '' ''
            Add-Row "  $name rate" ([math]::Round($emb / $t[$k].Median)) 'MB/s' '' ''
            Add-Row "  $name peak RSS" ([math]::Round($rss / 1MB, 1)) 'MiB' '' ''
            $ecpu = Get-CpuSeconds (@('fsck.erofs') + $argv) $Rounds
            Add-Row "  $name CPU time (user + sys)" ([math]::Round($ecpu, 3)) 's' '' ''
            Add-Ratio "  validation speed-up over $name, both fresh processes" $t[$k] $t.validate '> 1x' { param($r) $r -gt 1 }
            Add-Row "  validation speed-up over $name, first call in a running process" ([math]::Round($t[$k].Median / $first, 2)) 'x' '> 1x' ($(if ($t[$k].Median / $first -gt 1) { 'yes' } else { 'no' }))
            Add-Row "  validation speed-up over $name, warm" ([math]::Round($t[$k].Median / $warm, 2)) 'x' '> 1x' ($(if ($t[$k].Median / $warm -gt 1) { 'yes' } else { 'no' }))
            Add-Row "  CPU time ratio, $name / validation (fresh processes)" ([math]::Round($ecpu / [math]::Max($cpu, 1e-6), 2)) 'x' '' ''
        }
    }
    else { Add-Row 'fsck.erofs' 'not installed' '' '' '' }
    $v
}

Write-Host 'Timing validation against fsck.erofs, interleaved...'
$erofsFor = if (Test-Tool fsck.erofs) { if (-not (Test-Path $erofsImage)) { mkfs.erofs --quiet $erofsImage $tree 2>&1 | Out-Null }; $erofsImage } else { $null }
$v1 = Measure-Validation 'bench tree' $img $erofsFor $Runs
$v4 = Invoke-Harness @('validate-profile', $img4)
Add-Row 'validator peak anonymous memory, 4x-bytes tree' ([math]::Round($v4.peakAnonBytes / 1MB, 1)) 'MiB' 'flat' ($(if ($v4.peakAnonBytes -lt $v1.peakAnonBytes * 1.25) { 'yes' } else { 'no' }))
Remove-Item -Force -ErrorAction Ignore $img4

if ($LargeEntries -gt 0) {
    $large = Join-Path $WorkPath "flat$LargeEntries"
    $stamp = "$large.stamp"
    if (-not ((Test-Path $stamp) -and (Get-Content $stamp) -eq "$LargeEntries 100 v1")) {
        if (Test-Path $large) { Remove-Item -Recurse -Force $large }
        Write-Host "Making a tree of $LargeEntries empty files in directories of 100..."
        Invoke-Harness @('make-flat-tree', $large, $LargeEntries, 100) | Out-Null
        Set-Content $stamp "$LargeEntries 100 v1"
    }
    $largeImg = Join-Path $WorkPath "flat$LargeEntries.daxfs"
    $largeErofs = Join-Path $WorkPath "flat$LargeEntries.erofs"
    Write-Host 'Building it with New-DaxFsImage and mkfs.erofs...'
    Invoke-Harness @('build', $large, $largeImg) | Out-Null
    $largeErofsFor = $null
    if (Test-Tool fsck.erofs) { Remove-Item -Force -ErrorAction Ignore $largeErofs; mkfs.erofs --quiet $largeErofs $large 2>&1 | Out-Null; $largeErofsFor = $largeErofs }
    Write-Host "Timing validation of the $LargeEntries-entry images, interleaved..."
    $vl = Measure-Validation "$LargeEntries entries" $largeImg $largeErofsFor $LargeRuns
    Remove-Item -Force -ErrorAction Ignore $largeImg, $largeErofs
}

Write-Host 'Timing the reader, interleaved...'
Import-Module $ModulePath -Force
# Both sides the same way: the command's output piped to Out-Null (Measure-Interleaved), so each pays the same per-object pipeline cost.
$r = Measure-Interleaved ([ordered]@{
    gdi = @({ Get-DaxFsItem $img -Recurse }, $null)
    gci = @({ Get-ChildItem -LiteralPath $tree -Recurse -Force }, $null)
})
$nItems = @(Get-DaxFsItem $img -Recurse).Count
$nTree = @(Get-ChildItem -LiteralPath $tree -Recurse -Force).Count
Add-Timing "Get-DaxFsItem -Recurse ($nItems items)" $r.gdi
Add-Timing "Get-ChildItem -Recurse -Force ($nTree items)" $r.gci
Add-Ratio '  Get-DaxFsItem speed-up' $r.gci $r.gdi '>= 10x' { param($x) $x -ge 10 }
$en = Invoke-Harness @('enumerate', $img, 10)
Add-Row 'engine enumeration rate' ([math]::Round($en.entries / $en.seconds / 1e6, 2)) 'M entries/s' '>= 2' ($(if ($en.entries / $en.seconds -ge 2e6) { 'yes' } else { 'no' }))
$ri = foreach ($i in 1..$Runs) { (Invoke-Harness @('read-image', $img)).seconds }
$rt = foreach ($i in 1..$Runs) { (Invoke-Harness @('read-tree', $tree)).seconds }
$ri = ($ri | Sort-Object)[[int][math]::Floor($Runs / 2)]; $rt = ($rt | Sort-Object)[[int][math]::Floor($Runs / 2)]
Add-Row 'read every file through the reader' ([math]::Round($ri, 3)) 's' '' ''
Add-Row 'read every file from the tree' ([math]::Round($rt, 3)) 's' '' ''
Add-Row '  reader speed-up' ([math]::Round($rt / $ri, 1)) 'x' '>= 3x' ($(if ($rt / $ri -ge 3) { 'yes' } else { 'no' }))

# Format 8 beside format 5 (issue 18): listing and validation of the two images of the bench tree built above, side by
# side; then the overlay: a split format-8 image of the tree with 100,000 overlay entries written the way the kernel
# writes them through a mount (bench/DaxFs.Bench/KernelOverlayWriter.cs, checked byte for byte against kernel-written
# images by the xunit suite), listed through the offline overlay view against its base alone (the same image before the
# writes, its base region listed). Besides wall time, each harness reports its CPU time (user + sys) of the timed part,
# which load elsewhere on the machine inflates far less.
} # not -ArchiveOnly
} # not -Format8Only

if (-not $ArchiveOnly) {
if (-not $OverlayOnly) { Write-Host 'Timing format 8 beside format 5: listing and validation, interleaved...' }
$img8 = Join-Path $WorkPath 'tree.v8.daxfs'
if (-not (Test-Path $img) -and -not $OverlayOnly) { Invoke-Harness @('build', $tree, $img) | Out-Null }
Import-Module $ModulePath -Force
if (-not (Test-Path $img8) -and -not $OverlayOnly) { Invoke-Harness @('build', $tree, $img8, 'static8') | Out-Null }
$cpu = @{}
# Runs the harness and keeps the CPU time it reports under $Key.
function Invoke-HarnessCpu([string] $Key, [string[]] $Arguments) {
    $o = Invoke-Harness $Arguments
    if (-not $cpu.ContainsKey($Key)) { $cpu[$Key] = [Collections.Generic.List[double]]::new() }
    $cpu[$Key].Add($o.cpuSeconds)
}
function Get-MedianCpu([string] $Key) { $x = @($cpu[$Key] | Sort-Object); $x[[int][math]::Floor($x.Count / 2)] }
# Get-DaxFsItem -Recurse of image $Base and image $Other, interleaved: both timings and the ratio Other / Base.
function Measure-ItemListing([string] $Base, [string] $Other, [string] $BaseLabel, [string] $OtherLabel, [string] $RatioLabel, [string] $Goal, [scriptblock] $Met) {
    $m = Measure-Interleaved ([ordered]@{
        base = @({ Get-DaxFsItem $Base -Recurse }.GetNewClosure(), $null)
        other = @({ Get-DaxFsItem $Other -Recurse }.GetNewClosure(), $null)
    })
    Add-Timing $BaseLabel $m.base
    Add-Timing $OtherLabel $m.other
    Add-Ratio $RatioLabel $m.other $m.base $Goal $Met
}
if (-not $OverlayOnly) {
$f = Measure-Interleaved ([ordered]@{
    list5 = @({ Invoke-HarnessCpu 'list5' @('enumerate', $img, 10) }, $null)
    list8 = @({ Invoke-HarnessCpu 'list8' @('enumerate', $img8, 10) }, $null)
    validate5 = @({ Invoke-Harness @('validate', $img) }, $null)
    validate8 = @({ Invoke-Harness @('validate', $img8) }, $null)
})
Add-Timing 'engine listing, format 5 image, 10 walks (fresh process)' $f.list5
Add-Timing 'engine listing, format 8 image, 10 walks (fresh process)' $f.list8
Add-Ratio '  format 8 vs format 5 listing' $f.list8 $f.list5 '<= 1.1x' { param($r) $r -le 1.1 }
Add-Row '  CPU of the walks, format 8 / format 5' ([math]::Round((Get-MedianCpu 'list8') / (Get-MedianCpu 'list5'), 2)) 'x' '<= 1.1x' ($(if ((Get-MedianCpu 'list8') / (Get-MedianCpu 'list5') -le 1.1) { 'yes' } else { 'no' }))
Add-Timing 'Test-DaxFsImage engine, format 5 image (fresh process)' $f.validate5
Add-Timing 'Test-DaxFsImage engine, format 8 image (fresh process)' $f.validate8
Add-Ratio '  format 8 vs format 5 validation' $f.validate8 $f.validate5 '<= 1.1x' { param($r) $r -le 1.1 }
Measure-ItemListing $img $img8 'Get-DaxFsItem -Recurse, format 5 image' 'Get-DaxFsItem -Recurse, format 8 image' '  format 8 vs format 5 Get-DaxFsItem -Recurse' '<= 1.1x' { param($r) $r -le 1.1 }
} # not -OverlayOnly

Write-Host 'Making a split format-8 image with 100,000 overlay entries (the kernel''s records, written offline)...'
$split8 = Join-Path $WorkPath 'tree.split8.daxfs'
$ovl = Join-Path $WorkPath 'tree.ovl100k.daxfs'
# A pool and table big enough for 100,000 entries (about a quarter of them data pages), as mkdaxfs -O 256M -B 262144 makes them.
Invoke-Harness @('build', $tree, $split8, 'split8', 256MB, 262144) | Out-Null
$made = Invoke-Harness @('make-overlay', $split8, $ovl, 100000, 1)
$o = Measure-Interleaved ([ordered]@{
    base = @({ Invoke-HarnessCpu 'base' @('enumerate', $split8, 10) }, $null)
    empty = @({ Invoke-HarnessCpu 'empty' @('enumerate-view', $split8, 10) }, $null)
    overlay = @({ Invoke-HarnessCpu 'overlay' @('enumerate-view', $ovl, 10) }, $null)
})
$baseItems = (Invoke-Harness @('enumerate', $split8, 1)).entries
$ovlRun = Invoke-Harness @('enumerate-view', $ovl, 1)
Add-Row "overlay entries written (pool used $([math]::Round($made.bytes / 1MB)) MiB)" $made.entries 'entries' '100000' ($(if ($made.entries -eq 100000) { 'yes' } else { 'no' }))
Add-Timing "listing the base alone ($baseItems items), 10 walks (fresh process)" $o.base
Add-Timing 'listing the image before the writes through the overlay view (empty overlay), 10 walks' $o.empty
Add-Timing "listing the image with 100,000 overlay entries ($($ovlRun.entries) items), 10 walks, the view opened each time" $o.overlay
Add-Row '  of that: opening the view (the overlay table indexed), one walk' ([math]::Round($ovlRun.planSeconds, 3)) 's' '' ''
# Not the goal (an extra row): the same base items through the view's code, no overlay entries: what the view costs per base item.
Add-Row '  (extra, no goal) empty overlay through the view vs the base alone (wall)' ([math]::Round($o.empty.Median / $o.base.Median, 2)) 'x' '' '' ([math]::Round($o.empty.Best / $o.base.Best, 2))
Add-Row '  (extra, no goal) empty overlay through the view vs the base alone (CPU of the walks)' ([math]::Round((Get-MedianCpu 'empty') / (Get-MedianCpu 'base'), 2)) 'x' '' ''
Add-Ratio '  100,000-entry overlay vs its base alone (wall)' $o.overlay $o.base '< 2x' { param($r) $r -lt 2 }
$cpuRatio = (Get-MedianCpu 'overlay') / (Get-MedianCpu 'base')
Add-Row '  100,000-entry overlay vs its base alone (CPU of the walks)' ([math]::Round($cpuRatio, 2)) 'x' '< 2x' ($(if ($cpuRatio -lt 2) { 'yes' } else { 'no' }))
Add-Row '  per listed item, overlay / base (CPU)' ([math]::Round(((Get-MedianCpu 'overlay') / $ovlRun.entries) / ((Get-MedianCpu 'base') / $baseItems), 2)) 'x' '' ''
# The same pair in one warm process, alternating (no process start, no JIT): where the time goes, and a floor. The floor
# is the base listing plus the reads of every listed directory's overlay list, link by link (each dirent's DirNext, each
# read waiting on the one before, as the kernel's readdir order makes any listing read them); no index, no item.
$steady = Invoke-Harness @('time-walk', $split8, $ovl, 21)
Add-Row '  (extra) the same pair in one warm process, 21 alternating rounds: overlay vs base alone' ([math]::Round($steady.ratioMedian, 2)) 'x' '' '' ([math]::Round($steady.ratioBest, 2))
Add-Row '    of the overlay walk: opening the view (the table read and indexed)' ([math]::Round($steady.openMedian * 1000, 2)) 'ms' '' '' ''
Add-Row "    the overlay's lists alone, link by link ($($steady.links) links, nothing else read)" ([math]::Round($steady.chainsMedian * 1000, 2)) 'ms' '' '' ''
Add-Row '    the base alone' ([math]::Round($steady.baseMedian * 1000, 2)) 'ms' '' '' ''
Add-Row '    floor: (base alone + the lists link by link) / base alone' ([math]::Round($steady.floorRatio, 2)) 'x' '' '' ''
# The same two images listed the way an operator lists them: Get-DaxFsItem -Recurse, each item an object in the pipeline.
Measure-ItemListing $split8 $ovl "Get-DaxFsItem -Recurse, the image before the writes ($baseItems items)" "Get-DaxFsItem -Recurse, the image with 100,000 overlay entries ($($ovlRun.entries) items)" '  100,000-entry overlay vs its base alone (Get-DaxFsItem -Recurse)' '< 2x' { param($r) $r -lt 2 }
Remove-Item -Force -ErrorAction Ignore $ovl, "$ovl.data", $split8, "$split8.data"
} # not -ArchiveOnly

if (-not $Format8Only -and -not $ArchiveOnly) {
Write-Host 'Timing Compare-DaxFsImage against sha256sum -c, interleaved...'
# The manifest is made once (not timed); the image's twin is a copy, so every file is hashed on both sides.
$manifest = Join-Path $WorkPath 'tree.sha256'
if (-not (Test-Path $manifest) -or (Get-Item $manifest).LastWriteTimeUtc -lt (Get-Item "$tree.stamp").LastWriteTimeUtc) {
    bash -c "cd '$tree' && find . -type f -print0 | sort -z | xargs -0 sha256sum > '$manifest'"
    if ($LASTEXITCODE -ne 0) { throw 'Making the sha256sum manifest failed.' }
}
$twin = Join-Path $WorkPath 'tree-twin.daxfs'
Copy-Item -LiteralPath $img -Destination $twin -Force
$c = Measure-Interleaved ([ordered]@{
    sha = @({ bash -c "cd '$tree' && sha256sum -c --quiet '$manifest'"; if ($LASTEXITCODE) { throw 'sha256sum -c found a difference.' } }, $null)
    images = @({ if (Compare-DaxFsImage $img $twin) { throw 'The image differs from its copy.' } }, $null)
    tree = @({ if (Compare-DaxFsImage $img $tree) { throw 'The image differs from its tree.' } }, $null)
})
$files = @(Get-Content $manifest).Count
Add-Timing "sha256sum -c ($files files, the tree only)" $c.sha
Add-Timing 'Compare-DaxFsImage image image (both hashed)' $c.images
Add-Ratio '  speed-up over sha256sum -c' $c.sha $c.images '>= 1x' { param($x) $x -ge 1 }
Add-Timing 'Compare-DaxFsImage image tree (both hashed)' $c.tree
Add-Ratio '  speed-up over sha256sum -c' $c.sha $c.tree '>= 1x' { param($x) $x -ge 1 }
Remove-Item -Force -ErrorAction Ignore $twin
} # neither -Format8Only nor -ArchiveOnly

$cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
$mem = [math]::Round(((Get-Content /proc/meminfo | Select-Object -First 1) -replace '\D', '') / 1MB, 1)
$machine = "$([Environment]::ProcessorCount) cores, $cpu, $mem GiB RAM, $(uname -r), .NET $([Environment]::Version)"
Write-Host "`nMachine: $machine"
Write-Host "Tree: $Entries entries, $([math]::Round($Bytes / 1MB)) MB (4x twin: $([math]::Round($Bytes * 4 / 1MB)) MB); warm cache"
$load = (Get-Content /proc/loadavg) -split ' '
Write-Host "Load average at the end: $($load[0]) $($load[1]) $($load[2]) (1, 5, 15 min)"
Write-Host "Value: median of $Runs interleaved runs (ratios: of the medians); Best: the fastest run (ratios: of the bests); Spread: slowest / fastest`n"
$rows | Format-Table -AutoSize | Out-String -Width 200 | Out-Host
[pscustomobject]@{ Machine = $machine; Entries = $Entries; Bytes = $Bytes; Runs = $Runs; LoadAverage = ($load[0..2] -join ' '); Results = $rows } |
    ConvertTo-Json -Depth 4 | Set-Content (Join-Path $WorkPath 'results.json')

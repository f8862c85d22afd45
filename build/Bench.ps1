<#
.SYNOPSIS
    Speed and memory benchmarks for the writer and the reader, measured side by side in one run (not tests).
.DESCRIPTION
    Builds a deterministic tree (default 41,000 entries, 320 MB: directories, files of mixed sizes, symlinks,
    hard links) and a twin with the same entries and 4x the bytes under out/bench, warms the page cache, then
    times, side by side: after one warm-up run of each, -Runs rounds run every contender once in turn (so a burst of
    load elsewhere on the machine hits all of them alike); each is reported as its median, its best and the spread
    (worst / best) of its runs:
      - New-DaxFsImage's engine (a fresh process) against the read floor `tar -cf - TREE | cat > /dev/null`,
        `mkfs.erofs` (uncompressed) and `mksquashfs -noI -noD -noF -noX`;
      - peak resident memory of the build, for the tree and for the 4x twin (it must not grow with file bytes);
      - Get-DaxFsItem -Recurse over the image against Get-ChildItem -Recurse -Force over the tree;
      - the engine's enumeration rate (entries/s) and reading every file through the reader against from the tree.
      - Compare-DaxFsImage of the image with a copy of itself and with its tree (every file hashed with SHA-256 on both
        sides, in parallel, the image's straight from its memory map) against `sha256sum -c` of a manifest of the tree
        (one side only, one thread).
    erofs-utils and squashfs-tools are installed with apt-get when missing and running as root.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $WorkPath = (Join-Path $PSScriptRoot '../out/bench'),
    [int] $Entries = 41000,
    [long] $Bytes = 320MB,
    [int] $Runs = 7
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$root = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
New-Item -ItemType Directory -Force $WorkPath | Out-Null
$WorkPath = (Resolve-Path $WorkPath).Path

function Test-Tool([string] $Name) { [bool](Get-Command $Name -CommandType Application -ErrorAction Ignore) }
if (-not (Test-Tool mkfs.erofs) -or -not (Test-Tool mksquashfs)) {
    if ((id -u) -eq '0' -and (Test-Tool apt-get)) {
        Write-Host 'Installing erofs-utils and squashfs-tools for the comparison...'
        $env:DEBIAN_FRONTEND = 'noninteractive'
        apt-get install -y -qq erofs-utils squashfs-tools 2>&1 | Out-Null
        if ($LASTEXITCODE -ne 0) { apt-get update -qq 2>&1 | Out-Null; apt-get install -y -qq erofs-utils squashfs-tools 2>&1 | Out-Null }
    }
}

Write-Host 'Building the benchmark harness...'
$bin = Join-Path $WorkPath 'bin'
dotnet build (Join-Path $root 'bench/DaxFs.Bench/DaxFs.Bench.csproj') -c Release -o $bin --nologo -v q -clp:ErrorsOnly | Out-Host
if ($LASTEXITCODE -ne 0) { throw 'The benchmark harness did not build.' }
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
function Measure-Interleaved([Collections.Specialized.OrderedDictionary] $Contenders) {
    $times = @{}
    foreach ($name in $Contenders.Keys) {
        $times[$name] = [Collections.Generic.List[double]]::new()
        $block, $before = $Contenders[$name]
        if ($before) { & $before }
        & $block | Out-Null
    }
    foreach ($i in 1..$Runs) {
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
        $result[$name] = [pscustomobject]@{ Median = $t[[int][math]::Floor($Runs / 2)]; Best = $t[0]; Spread = $t[-1] / [math]::Max($t[0], 1e-9) }
    }
    $result
}

$tree = Get-Tree 'tree' $Bytes
$tree4 = Get-Tree 'tree4x' ($Bytes * 4)
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

Write-Host 'Timing the writer against tar, mkfs.erofs and mksquashfs, interleaved...'
$erofsImage = Join-Path $WorkPath 'tree.erofs'
$squashImage = Join-Path $WorkPath 'tree.sqfs'
$contenders = [ordered]@{
    tar   = @({ bash -c "tar -cf - -C '$tree' . | cat > /dev/null" }, $null)
    daxfs = @({ Invoke-Harness @('build', $tree, $img) }, { Remove-Item -Force -ErrorAction Ignore $img })
}
if (Test-Tool mkfs.erofs) { $contenders.erofs = @({ mkfs.erofs --quiet $erofsImage $tree 2>&1 }, { Remove-Item -Force -ErrorAction Ignore $erofsImage }) }
if (Test-Tool mksquashfs) { $contenders.squash = @({ mksquashfs $tree $squashImage -noI -noD -noF -noX -quiet -no-progress -noappend 2>&1 }, { Remove-Item -Force -ErrorAction Ignore $squashImage }) }
$w = Measure-Interleaved $contenders
Add-Timing 'tar -cf - TREE | cat > /dev/null (read floor)' $w.tar
Add-Timing 'New-DaxFsImage engine (fresh process)' $w.daxfs
Add-Ratio '  vs read floor' $w.daxfs $w.tar '<= 2x' { param($r) $r -le 2 }
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
Remove-Item -Force -ErrorAction Ignore $img4

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

$cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
$mem = [math]::Round(((Get-Content /proc/meminfo | Select-Object -First 1) -replace '\D', '') / 1MB, 1)
$machine = "$([Environment]::ProcessorCount) cores, $cpu, $mem GiB RAM, $(uname -r), .NET $([Environment]::Version)"
Write-Host "`nMachine: $machine"
Write-Host "Tree: $Entries entries, $([math]::Round($Bytes / 1MB)) MB (4x twin: $([math]::Round($Bytes * 4 / 1MB)) MB); warm cache"
Write-Host "Value: median of $Runs interleaved runs (ratios: of the medians); Best: the fastest run (ratios: of the bests); Spread: slowest / fastest`n"
$rows | Format-Table -AutoSize | Out-String -Width 200 | Out-Host
[pscustomobject]@{ Machine = $machine; Entries = $Entries; Bytes = $Bytes; Runs = $Runs; Results = $rows } |
    ConvertTo-Json -Depth 4 | Set-Content (Join-Path $WorkPath 'results.json')

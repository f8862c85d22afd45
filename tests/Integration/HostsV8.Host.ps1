# Dot-sourced by Invoke-HostsBoot.ps1 (this machine's side of HostsV8.Tests.ps1, format 8 on two kernels): builds the
# format-8 split image with an overlay and places it in the shared memory file, and after the guests wrote to it through
# their mounts, reads the memory file offline and compares with the view of the fresh mount guest B made. Uses the boot's
# Test-Fact, Wait-Signal, Send-Signal and Save-Region.
. $PSScriptRoot/V8Images.ps1

# The image (a small tree: base files the guests overwrite, rename and append to) at OFFSET of MEMORY; hostsv8.json for
# the guests. Nothing is written when the kit has no format-8 module: HostsV8.Tests.ps1 then skips.
# MODULE8: the format-8 daxfs.ko for the guests' kernel (Invoke-Integration's -KernelModule8 or the kit's); SKIPREASON: why
# there is none (an own kernel without one), printed instead.
function Initialize-HostsV8([string] $Dir, [string] $Memory, [long] $Offset, [string] $Kit, [string[]] $KitArgs, [string] $Module8, [string] $SkipReason) {
    $module8 = if ($Module8) { $Module8 } else { Join-Path $Kit 'kernel/daxfs-v8.ko' }
    if ($SkipReason) { Write-Host "hosts: format 8 on two kernels skipped: $SkipReason" -ForegroundColor Yellow; return $null }
    if (-not (Test-Path -LiteralPath $module8)) { Write-Host "hosts: format 8 on two kernels skipped: no $module8" -ForegroundColor Yellow; return $null }
    $i = [array]::IndexOf($KitArgs, '--module')
    $module5 = if ($i -ge 0) { $KitArgs[$i + 1] } else { Join-Path $Kit 'kernel/daxfs.ko' }
    $src = Join-Path $Dir 'v8src'
    New-Item -ItemType Directory -Force (Join-Path $src 'dir') | Out-Null
    Set-Content (Join-Path $src 'a.txt') 'base a'
    Set-Content (Join-Path $src 'b.txt') 'base b'
    Set-Content (Join-Path $src 'dir/c.txt') 'base c'
    [IO.File]::WriteAllBytes((Join-Path $src 'big.bin'), [byte[]]::new(12000))
    $image = Join-Path $Dir 'v8.daxfs'
    $img = New-DaxFsImage -Path $src -Destination $image -Format 8 -BackingFile "$image.data" -OverlayPoolSize 8MB -OverlayBuckets 8192 -Owner Root -Force
    $fs = [IO.File]::Open($Memory, 'Open', 'ReadWrite')
    try { $fs.Position = $Offset; $b = [IO.File]::ReadAllBytes($image); $fs.Write($b, 0, $b.Length) } finally { $fs.Dispose() }
    $info = [ordered]@{ Offset = $Offset; Size = $img.TotalSize; Backing = "$image.data"; Module8 = (Resolve-Path $module8).Path; Module5 = (Resolve-Path $module5).Path }
    $info | ConvertTo-Json | Set-Content (Join-Path $Dir 'hostsv8.json')
    [pscustomobject]$info
}

# After guest B's fresh mount (signal v8-B-fresh, its kernel view in hostsv8-fresh.txt): the memory file read offline with
# Get-DaxFsItem/Get-DaxFsContent and the overlay's state (Get-DaxFsOverlay); returns what goes into the host's report.
function Test-HostsV8Offline($Info, [string] $Dir) {
    if (-not $Info) { return $null }
    $report = [ordered]@{}
    # Until guest B's fresh view, or a guest's failed test (v8-ROLE-failed: the guests' own results say which), or the
    # guest suites ending without it.
    $sync = Join-Path $Dir 'sync'
    while (-not (Test-Path (Join-Path $sync 'v8-B-fresh'))) {
        $failed = (Test-Path (Join-Path $sync 'v8-A-failed')) -or (Test-Path (Join-Path $sync 'v8-B-failed')) -or (Test-Path (Join-Path $sync 'hosts-reader-suite-done'))
        if ($failed -or (-not (Wait-Signal 'v8-B-fresh' 5) -and @($guests.Process | Where-Object HasExited).Count)) {
            Test-Fact 'format 8: guest B mounted the written image afresh' $false 'a guest failed a format-8 test or stopped first'
            Send-Signal 'v8-host-read'
            return $report
        }
    }
    try {
        $snap = Save-Region $Info.Offset $Info.Size 'v8-after.daxfs'
        $offline = @(Get-OfflineView $snap $Info.Backing)
        $kernel = @(Get-Content (Join-Path $Dir 'hostsv8-fresh.txt'))
        $diff = @(Compare-Object $kernel $offline -CaseSensitive | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" })
        $report.Lines = $offline.Count
        $report.Differences = $diff
        Test-Fact 'format 8: the memory file read offline shows exactly what a fresh mount shows after two kernels wrote' ($kernel.Count -gt 0 -and $diff.Count -eq 0) "$($offline.Count) lines; $($diff -join '; ')"
        $o = Get-DaxFsOverlay $snap -WarningAction SilentlyContinue
        $report.Overlay = [ordered]@{ PoolUsed = $o.PoolUsed; BucketsUsed = $o.BucketsUsed; InodeEntries = $o.InodeEntries; DataPages = $o.DataPages; Dirents = $o.Dirents
            Tombstones = $o.Tombstones; FreeInodes = $o.FreeInodes; FreeDataPages = $o.FreeDataPages; FreeDirents = $o.FreeDirents; NextInode = $o.NextInode; LostAppends = $o.LostAppends }
    }
    catch { Test-Fact 'format 8: reading the written image offline from the memory file' $false "$_" }
    finally { Send-Signal 'v8-host-read' }
    $report
}
